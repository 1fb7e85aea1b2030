client_connect_from() {
	ip netns exec "${ns0}" timeout 2 socat -u -4 STDIN \
		TCP:"${vip_v4}":"${port}",sourceport="$1",reuseaddr < "${infile}"
}

# Prints the real server of the connection entries from cip_v4:$1.
conn_dest() {
	ip netns exec "${ns1}" ipvsadm -L -c -n |
		awk -v src="${cip_v4}:$1" '$4 == src { print $6 }'
}

# Waits for the connection entry from cip_v4:$1 to be closed.
wait_conn_closed() {
	local i

	for i in $(seq 1 20); do
		ip netns exec "${ns1}" ipvsadm -L -c -n |
			awk -v src="${cip_v4}:$1" '$4 == src { print $3 }' |
			grep -qE '^(TIME_WAIT|CLOSE)$' && return 0
		sleep 0.5
	done
	return 1
}
