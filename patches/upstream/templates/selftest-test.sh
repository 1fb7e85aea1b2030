# A new connection from the port of a closed connection whose real server
# was quiesced (weight 0) must go to another real server when
# conn_reuse_quiescent is set, even with conn_reuse_mode=0.
test_reuse_quiescent() {
	local dest rc=0

	ip netns exec "${ns0}" ip route add "${vip_v4}" via "${gip_v4}" dev br0
	# No TIME_WAIT sockets on the client: it reuses its port at once
	ip netns exec "${ns0}" sysctl -qw net.ipv4.tcp_max_tw_buckets=0

	ip netns exec "${ns1}" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "${ns1}" sysctl -qw net.ipv4.vs.conn_reuse_mode=0
	if ! ip netns exec "${ns1}" sysctl -qw net.ipv4.vs.conn_reuse_quiescent=1; then
		echo "FAIL: cannot set net.ipv4.vs.conn_reuse_quiescent"
		rc=1
	fi
	ip netns exec "${ns1}" ipvsadm -A -t "${vip_v4}:${port}" -s rr
	ip netns exec "${ns1}" ipvsadm -a -m -t "${vip_v4}:${port}" -r "${rip_v4}:${port}"
	ip netns exec "${ns1}" ip addr add "${vip_v4}/32" dev lo:1

	ip netns exec "${ns2}" ip link del veth20
	ip netns exec "${ns2}" ip addr add "${rip2_v4}/24" dev veth21
	ip netns exec "${ns2}" ip route add default via "${dip_v4}" dev veth21

	server_listen
	client_connect_from "${cport}"
	verify_data || return 1
	if ! wait_conn_closed "${cport}"; then
		echo "FAIL: the connection from port ${cport} did not close"
		return 1
	fi

	# Drain the first real server in favour of a second one
	ip netns exec "${ns1}" ipvsadm -a -m -t "${vip_v4}:${port}" -r "${rip2_v4}:${port}"
	ip netns exec "${ns1}" ipvsadm -e -m -t "${vip_v4}:${port}" -r "${rip_v4}:${port}" -w 0

	server_listen
	client_connect_from "${cport}"
	verify_data || rc=1
	dest=$(conn_dest "${cport}" | xargs)
	if ! echo " ${dest} " | grep -qF " ${rip2_v4}:${port} "; then
		echo "FAIL: the reused port went to ${dest:-no real server}, not ${rip2_v4}:${port}"
		rc=1
	fi

	return $rc
}
