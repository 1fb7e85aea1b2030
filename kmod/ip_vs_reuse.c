// SPDX-License-Identifier: GPL-2.0
/*
 * IPVS conn_reuse_quiescent: the per-netns knob, its counters, the module
 * parameter that gives every new netns its initial value, and the decision
 * ip_vs_in() asks for when a packet matched an existing entry.
 *
 * One source for every kernel: what differs between kernel versions is
 * decided by ip_vs_reuse_compat.h, which kmod/compat.sh generates by probing
 * the target kernel's headers and IPVS sources at build time.
 */

#define KMSG_COMPONENT "IPVS"
#define pr_fmt(fmt) KMSG_COMPONENT ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/rculist.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/tcp.h>
#include <net/ip_vs.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "ip_vs_reuse.h"

#ifndef IPVS_DRAIN_VERSION
#define IPVS_DRAIN_VERSION "unknown"
#endif

unsigned int ip_vs_reuse_net_id __read_mostly;

DEFINE_STATIC_KEY_FALSE(ip_vs_reuse_key);

/* Initial knob value; a parameter because sysctl.d runs before ip_vs loads */
static int conn_reuse_quiescent;

static int ip_vs_reuse_param_set(const char *val, const struct kernel_param *kp)
{
	int mode, ret;

	ret = kstrtoint(val, 0, &mode);
	if (ret)
		return ret;
	if (mode < 0 || mode > IP_VS_REUSE_Q_MASK)
		return -EINVAL;
	*(int *)kp->arg = mode;
	return 0;
}

static const struct kernel_param_ops ip_vs_reuse_param_ops = {
	.set	= ip_vs_reuse_param_set,
	.get	= param_get_int,
};

module_param_cb(conn_reuse_quiescent, &ip_vs_reuse_param_ops,
		&conn_reuse_quiescent, 0444);
MODULE_PARM_DESC(conn_reuse_quiescent,
		 "initial net.ipv4.vs.conn_reuse_quiescent of every netns (0..3)");
MODULE_VERSION(IPVS_DRAIN_VERSION);
MODULE_INFO(variant, "ipvs-drain conn_reuse_quiescent");

/* ipvs-drain: shared begin */

static bool ip_vs_reuse_state_matches(const struct ip_vs_conn *cp, int mode)
{
	switch (cp->state) {
	case IP_VS_TCP_S_TIME_WAIT:
	case IP_VS_TCP_S_CLOSE:
		return mode & IP_VS_REUSE_Q_CLOSED;
	case IP_VS_TCP_S_FIN_WAIT:
		/* Replies bypass the director, so it never sees the close */
		return (mode & IP_VS_REUSE_Q_NOOUTPUT) &&
		       (cp->flags & IP_VS_CONN_F_NOOUTPUT);
	default:
		return false;
	}
}

static bool ip_vs_reuse_is_syn(const struct sk_buff *skb,
			       const struct ip_vs_iphdr *iph)
{
	struct tcphdr _tcph;
	const struct tcphdr *th;

	th = skb_header_pointer(skb, iph->len, sizeof(_tcph), &_tcph);
	return th && th->syn && !th->ack;
}

/* Whether a destination of @dest's service other than @dest has weight:
 * if none has, the scheduler would find nowhere to send the connection.
 */
static bool ip_vs_reuse_other_dest(const struct ip_vs_dest *dest)
{
	struct ip_vs_service *svc = rcu_dereference(dest->svc);
	struct ip_vs_dest *d;

	if (!svc)
		return false;
	list_for_each_entry_rcu(d, &svc->destinations, n_list) {
		if (d != dest && atomic_read(&d->weight) > 0)
			return true;
	}
	return false;
}

/* What the scheduler does with a template whose dest is quiescent */
static bool ip_vs_reuse_expire_template(struct netns_ipvs *ipvs)
{
#ifdef CONFIG_SYSCTL
	return READ_ONCE(ipvs->sysctl_expire_quiescent_template);
#else
	return false;
#endif
}

/* Called by ip_vs_in() under rcu_read_lock() with a reference on @cp, for
 * a new connection (is_new_conn()) that matched @cp, while some netns has
 * the knob set, and only where the stock checks kept @cp: the packet would
 * otherwise be forwarded to cp->dest, or dropped because that dest was
 * removed while expire_nodest_conn is off.  A new TCP connection that
 * reuses the tuple of a closed entry whose dest is quiescent (weight 0) or
 * removed is sent to the scheduler instead.  Established traffic never
 * matches, so a draining server keeps its open connections.
 *
 * Never worse than stock: while @cp's dest is still in its service and no
 * other dest has weight, the connection stays where stock would send it,
 * since a live quiescent server beats a refusal.  An entry controlled by a
 * persistence template moves only when the dest was removed or when
 * expire_quiescent_template says quiescent templates expire, as the
 * scheduler decides for the client's other connections.
 *
 * Conntrack and controlled entries are treated as the conn_reuse_mode path
 * treats them.  On any verdict but IP_VS_REUSE_KEEP our reference on @cp
 * has been dropped.
 */
enum ip_vs_reuse_verdict
ip_vs_reuse_quiescent(struct netns_ipvs *ipvs, struct sk_buff *skb,
		      const struct ip_vs_iphdr *iph, struct ip_vs_conn *cp)
{
	struct ip_vs_conn *ctl = cp->control;
	struct ip_vs_dest *dest = cp->dest;
	struct ip_vs_reuse_net *rn;
	bool available, old_ct;
	int mode;

	if (cp->protocol != IPPROTO_TCP || iph->fragoffs || !dest)
		return IP_VS_REUSE_KEEP;
	/* Zero in every netns that left the knob off */
	mode = READ_ONCE(ip_vs_reuse_net(ipvs->net)->mode);
	if (!ip_vs_reuse_state_matches(cp, mode))
		return IP_VS_REUSE_KEEP;

	available = ip_vs_reuse_dest_available(dest);
	if (available && atomic_read(&dest->weight))
		return IP_VS_REUSE_KEEP;
	/* expire_nodest_conn handles removed dests on its own */
	if (!available && sysctl_expire_nodest_conn(ipvs))
		return IP_VS_REUSE_KEEP;

	/* A connection controlled by another one (FTP data) belongs to it;
	 * only a persistence template may be left behind.
	 */
	if (ctl && !(ctl->flags & IP_VS_CONN_F_TEMPLATE))
		return IP_VS_REUSE_KEEP;

	if (!ip_vs_reuse_is_syn(skb, iph))
		return IP_VS_REUSE_KEEP;
	/* Where the dest is still in its service: persistence follows
	 * expire_quiescent_template, and a live server beats a refusal.
	 */
	if (available) {
		if (ctl && !ip_vs_reuse_expire_template(ipvs))
			return IP_VS_REUSE_KEEP;
		if (!ip_vs_reuse_other_dest(dest))
			return IP_VS_REUSE_KEEP;
	}

	old_ct = ip_vs_conn_uses_old_conntrack(cp, skb);
	/* Do not reschedule a controlling connection that uses conntrack
	 * while it is still referenced by controlled connection(s).
	 */
	if (atomic_read(&cp->n_control) && old_ct)
		return IP_VS_REUSE_KEEP;

	/* Otherwise persistence would send the client straight back.  We
	 * hold no reference on the template, only cp's control link, so
	 * take one for the unhash/rehash.
	 */
	if (ctl && ctl->dest == dest && __ip_vs_conn_get(ctl)) {
		ip_vs_conn_invalidate_template(ctl);
		__ip_vs_conn_put(ctl);
	}

	/* As the conn_reuse_mode path of this kernel does it */
	if (!old_ct) {
#if IPVS_REUSE_FLAGS_LOCKED
		spin_lock_bh(&cp->lock);
		cp->flags &= ~IP_VS_CONN_F_NFCT;
		spin_unlock_bh(&cp->lock);
#else
		cp->flags &= ~IP_VS_CONN_F_NFCT;
#endif
	}
	if (!atomic_read(&cp->n_control))
		ip_vs_conn_expire_now(cp);
	__ip_vs_conn_put(cp);

	rn = ip_vs_reuse_net(ipvs->net);
	if (old_ct) {
		atomic64_inc(&rn->dropped_old_ct);
		return IP_VS_REUSE_DROP;
	}
	atomic64_inc(&rn->rescheduled);
	return IP_VS_REUSE_RESCHED;
}

/* ipvs-drain: shared end */

#if IPVS_REUSE_TEMPLATE_DPORT
/* This kernel invalidates a template by its dport alone, which lookups
 * check and which is not a hash key, so it is not rehashed; do as
 * ip_vs_check_template() does.
 */
void ip_vs_conn_invalidate_template(struct ip_vs_conn *ct)
{
	ct->dport = htons(0xffff);
}
#endif

#ifdef CONFIG_PROC_FS
static int ip_vs_reuse_stats_show(struct seq_file *seq, void *v)
{
	struct ip_vs_reuse_net *rn = ip_vs_reuse_net(seq_file_single_net(seq));

	seq_printf(seq, "rescheduled %lld\n",
		   (long long)atomic64_read(&rn->rescheduled));
	seq_printf(seq, "dropped_old_conntrack %lld\n",
		   (long long)atomic64_read(&rn->dropped_old_ct));
	return 0;
}

static int ip_vs_reuse_proc_init(struct net *net)
{
	if (!proc_create_net_single("ip_vs_reuse_stats", 0444, net->proc_net,
				    ip_vs_reuse_stats_show, NULL))
		return -ENOMEM;
	return 0;
}

static void ip_vs_reuse_proc_exit(struct net *net)
{
	remove_proc_entry("ip_vs_reuse_stats", net->proc_net);
}
#else
static int ip_vs_reuse_proc_init(struct net *net) { return 0; }
static void ip_vs_reuse_proc_exit(struct net *net) { }
#endif

#ifdef CONFIG_SYSCTL
/* Serialises knob writes, so that each netns counts once in the key */
static DEFINE_MUTEX(ip_vs_reuse_mutex);
static int ip_vs_reuse_mode_max = IP_VS_REUSE_Q_MASK;

/* proc_dointvec_minmax() on a copy, then the key follows the netns's
 * change between off and on.
 */
static int ip_vs_reuse_set_mode(const struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ctl_table tmp = *table;
	int *valp = table->data;
	int val, ret;

	mutex_lock(&ip_vs_reuse_mutex);
	val = *valp;
	tmp.data = &val;
	ret = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (write && !ret && val != *valp) {
		if (!*valp)
			static_branch_inc(&ip_vs_reuse_key);
		WRITE_ONCE(*valp, val);
		if (!val)
			static_branch_dec(&ip_vs_reuse_key);
	}
	mutex_unlock(&ip_vs_reuse_mutex);
	return ret;
}

/* The handler's table became const in 6.11 */
#if IPVS_REUSE_CONST_CTL
static int ip_vs_reuse_sysctl_mode(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	return ip_vs_reuse_set_mode(table, write, buffer, lenp, ppos);
}
#else
static int ip_vs_reuse_sysctl_mode(struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	return ip_vs_reuse_set_mode(table, write, buffer, lenp, ppos);
}
#endif

static const struct ctl_table ip_vs_reuse_vars[] = {
	{
		.procname	= "conn_reuse_quiescent",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ip_vs_reuse_sysctl_mode,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &ip_vs_reuse_mode_max,
	},
#if !IPVS_REUSE_SYSCTL_SZ
	{ }
#endif
};

static int ip_vs_reuse_sysctl_init(struct net *net, struct ip_vs_reuse_net *rn)
{
	struct ctl_table *tbl;

#if IPVS_REUSE_HIDE_UNPRIV
	/* As this kernel's own IPVS sysctls: none for unprivileged users */
	if (net->user_ns != &init_user_ns)
		return 0;
#endif
	tbl = kmemdup(ip_vs_reuse_vars, sizeof(ip_vs_reuse_vars), GFP_KERNEL);
	if (!tbl)
		return -ENOMEM;
	tbl[0].data = &rn->mode;
#if IPVS_REUSE_SYSCTL_SZ
	rn->sysctl_hdr = register_net_sysctl_sz(net, "net/ipv4/vs", tbl,
						ARRAY_SIZE(ip_vs_reuse_vars));
#else
	rn->sysctl_hdr = register_net_sysctl(net, "net/ipv4/vs", tbl);
#endif
	if (!rn->sysctl_hdr) {
		kfree(tbl);
		return -ENOMEM;
	}
	rn->sysctl_tbl = tbl;
	return 0;
}

static void ip_vs_reuse_sysctl_exit(struct ip_vs_reuse_net *rn)
{
	if (!rn->sysctl_hdr)
		return;
	/* Waits for writers in flight; none can follow */
	unregister_net_sysctl_table(rn->sysctl_hdr);
	kfree(rn->sysctl_tbl);
}
#else
static int ip_vs_reuse_sysctl_init(struct net *net, struct ip_vs_reuse_net *rn)
{
	return 0;
}

static void ip_vs_reuse_sysctl_exit(struct ip_vs_reuse_net *rn) { }
#endif

static int __net_init ip_vs_reuse_net_init(struct net *net)
{
	struct ip_vs_reuse_net *rn = ip_vs_reuse_net(net);
	int ret;

	atomic64_set(&rn->rescheduled, 0);
	atomic64_set(&rn->dropped_old_ct, 0);
	/* No writer yet: the sysctl is not registered */
	rn->mode = conn_reuse_quiescent;
	if (rn->mode)
		static_branch_inc(&ip_vs_reuse_key);

	ret = ip_vs_reuse_sysctl_init(net, rn);
	if (ret)
		goto err_sysctl;
	ret = ip_vs_reuse_proc_init(net);
	if (ret)
		goto err_proc;
	return 0;

err_proc:
	ip_vs_reuse_sysctl_exit(rn);
err_sysctl:
	if (rn->mode)
		static_branch_dec(&ip_vs_reuse_key);
	return ret;
}

static void __net_exit ip_vs_reuse_net_exit(struct net *net)
{
	struct ip_vs_reuse_net *rn = ip_vs_reuse_net(net);

	ip_vs_reuse_proc_exit(net);
	ip_vs_reuse_sysctl_exit(rn);
	if (rn->mode)
		static_branch_dec(&ip_vs_reuse_key);
}

static struct pernet_operations ip_vs_reuse_net_ops = {
	.init	= ip_vs_reuse_net_init,
	.exit	= ip_vs_reuse_net_exit,
	.id	= &ip_vs_reuse_net_id,
	.size	= sizeof(struct ip_vs_reuse_net),
};

int __init ip_vs_reuse_init(void)
{
	return register_pernet_subsys(&ip_vs_reuse_net_ops);
}

void ip_vs_reuse_cleanup(void)
{
	unregister_pernet_subsys(&ip_vs_reuse_net_ops);
}
