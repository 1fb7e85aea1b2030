/* Serialises writes of conn_reuse_quiescent, so that each netns counts once
 * in ip_vs_reuse_quiescent_key.
 */
static DEFINE_MUTEX(ip_vs_reuse_quiescent_mutex);

static int
proc_do_conn_reuse_quiescent(const struct ctl_table *table, int write,
			     void *buffer, size_t *lenp, loff_t *ppos)
{
	int *valp = table->data;
	int val, rc;
	const struct ctl_table tmp = {
		.data = &val,
		.maxlen = sizeof(int),
		.mode = table->mode,
		.extra1 = table->extra1,
		.extra2 = table->extra2,
	};

	mutex_lock(&ip_vs_reuse_quiescent_mutex);
	val = *valp;
	rc = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (write && !rc && val != *valp) {
		/* The key follows the netns between off and on */
		if (!*valp)
			static_branch_inc(&ip_vs_reuse_quiescent_key);
		WRITE_ONCE(*valp, val);
		if (!val)
			static_branch_dec(&ip_vs_reuse_quiescent_key);
	}
	mutex_unlock(&ip_vs_reuse_quiescent_mutex);
	return rc;
}

/* Once the sysctl table is unregistered no writer is left: a netns that
 * goes away with conn_reuse_quiescent set gives its count in the key back.
 */
static void ip_vs_reuse_quiescent_exit(struct netns_ipvs *ipvs)
{
	if (ipvs->sysctl_conn_reuse_quiescent)
		static_branch_dec(&ip_vs_reuse_quiescent_key);
}

