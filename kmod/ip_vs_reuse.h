/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPVS conn_reuse_quiescent: reschedule new TCP connections that reuse the
 * tuple of an entry whose destination is quiescent or gone.
 */
#ifndef _IP_VS_REUSE_H
#define _IP_VS_REUSE_H

#include <linux/atomic.h>
#include <linux/jump_label.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/ip_vs.h>

/* Generated at build time by kmod/compat.sh for the target kernel */
#include "ip_vs_reuse_compat.h"

/* Bits of net.ipv4.vs.conn_reuse_quiescent */
#define IP_VS_REUSE_Q_CLOSED	1	/* TIME_WAIT and CLOSE entries */
#define IP_VS_REUSE_Q_NOOUTPUT	2	/* FIN_WAIT entries of DR/TUN dests */
#define IP_VS_REUSE_Q_MASK	(IP_VS_REUSE_Q_CLOSED | IP_VS_REUSE_Q_NOOUTPUT)

/* Per-netns state, kept apart from struct netns_ipvs so that its layout,
 * which modules outside this set were built against, does not change.
 */
struct ip_vs_reuse_net {
	int			mode;
	atomic64_t		rescheduled;
	atomic64_t		dropped_old_ct;
	struct ctl_table_header	*sysctl_hdr;
	const struct ctl_table	*sysctl_tbl;
};

extern unsigned int ip_vs_reuse_net_id;

static inline struct ip_vs_reuse_net *ip_vs_reuse_net(struct net *net)
{
	return net_generic(net, ip_vs_reuse_net_id);
}

/* Whether @dest is still in its service (not removed) */
static inline bool ip_vs_reuse_dest_available(const struct ip_vs_dest *dest)
{
#if IPVS_REUSE_DEST_CFLAGS
	return dest->cflags & IP_VS_DEST_CF_AVAILABLE;
#else
	return dest->flags & IP_VS_DEST_F_AVAILABLE;
#endif
}

/* On while any netns has the knob set: until then ip_vs_in() pays one
 * patched-out jump, and only for new connections that matched an entry.
 */
DECLARE_STATIC_KEY_FALSE(ip_vs_reuse_key);

static __always_inline bool ip_vs_reuse_active(void)
{
	return static_branch_unlikely(&ip_vs_reuse_key);
}

/* What ip_vs_in() does with a packet after ip_vs_reuse_quiescent() */
enum ip_vs_reuse_verdict {
	IP_VS_REUSE_KEEP,	/* forward on cp as before, cp still held */
	IP_VS_REUSE_RESCHED,	/* cp released: schedule the packet afresh */
	IP_VS_REUSE_DROP,	/* cp released: drop, the client retransmits */
};

enum ip_vs_reuse_verdict
ip_vs_reuse_quiescent(struct netns_ipvs *ipvs, struct sk_buff *skb,
		      const struct ip_vs_iphdr *iph, struct ip_vs_conn *cp);

/* ip_vs_conn.c's own helper where templates are rehashed, ours otherwise */
void ip_vs_conn_invalidate_template(struct ip_vs_conn *ct);

int ip_vs_reuse_init(void);
void ip_vs_reuse_cleanup(void);

#endif /* _IP_VS_REUSE_H */
