#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Applies one step of the upstream-form series to a pristine Linux 7.3 tree.

Usage: patches/upstream/series.py STEP TREE COMPAT_H

STEP is 1 (knob, static key, sysctl, doc), 2 (the decision in
ip_vs_in_hook()) or 3 (selftest).  TREE is the top of a kernel tree holding
the files the series touches; COMPAT_H is what kmod/compat.sh printed for that
tree.  The code of the decision is not written here: it is copied from
kmod/ip_vs_reuse.c, between the "ipvs-drain: shared begin/end" markers, with
the substitutions listed in SUBSTITUTIONS below.  Every edit, anchor and
substitution must match exactly as many times as it says, or this exits 1
naming it: the series is never made from a text that drifted.
"""
import os
import re
import subprocess
import sys

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
HERE = os.path.join(TOP, 'patches', 'upstream')
TEMPLATES = os.path.join(HERE, 'templates')
REUSE_C = os.path.join(TOP, 'kmod', 'ip_vs_reuse.c')
REUSE_H = os.path.join(TOP, 'kmod', 'ip_vs_reuse.h')
CALL_PATCH = os.path.join(TOP, 'patches', 'hooks', '3-call.patch')

BEGIN = '/* ipvs-drain: shared begin */\n'
END = '/* ipvs-drain: shared end */\n'

KEY = 'ip_vs_reuse_quiescent_key'

# What the 7.3 series needs the kernel to be; checked against kmod/compat.sh's
# probe of the pristine tree, which also decides the #if blocks of the shared
# text.  The template substitution below is right only where a template is
# invalidated by its dport alone.
EXPECTED_COMPAT = {
    'IPVS_REUSE_DEST_CFLAGS': 1,
    'IPVS_REUSE_SYSCTL_SZ': 1,
    'IPVS_REUSE_TEMPLATE_DPORT': 1,
    'IPVS_REUSE_CONST_CTL': 1,
    'IPVS_REUSE_FLAGS_LOCKED': 1,
}

# The documented substitutions from kmod/ip_vs_reuse.c's shared text to
# ip_vs_core.c: (what, old, new, times).  Applied in order, after the
# compat #if blocks are resolved.
SUBSTITUTIONS = [
    ('the knob is a netns_ipvs sysctl, read through its accessor',
     'mode = READ_ONCE(ip_vs_reuse_net(ipvs->net)->mode);',
     'mode = sysctl_conn_reuse_quiescent(ipvs);', 1),
    ('no per-netns counters: their pointer goes',
     '\tstruct ip_vs_reuse_net *rn;\n', '', 1),
    ('no per-netns counters: the verdict alone',
     '\trn = ip_vs_reuse_net(ipvs->net);\n'
     '\tif (old_ct) {\n'
     '\t\tatomic64_inc(&rn->dropped_old_ct);\n'
     '\t\treturn IP_VS_REUSE_DROP;\n'
     '\t}\n'
     '\tatomic64_inc(&rn->rescheduled);\n'
     '\treturn IP_VS_REUSE_RESCHED;\n',
     '\tif (old_ct)\n'
     '\t\treturn IP_VS_REUSE_DROP;\n'
     '\treturn IP_VS_REUSE_RESCHED;\n', 1),
    ("a dest's availability is in cflags (IPVS_REUSE_DEST_CFLAGS=1)",
     'available = ip_vs_reuse_dest_available(dest);',
     'available = dest->cflags & IP_VS_DEST_CF_AVAILABLE;', 1),
    ('a template is invalidated by its dport, as ip_vs_check_template() '
     'does (IPVS_REUSE_TEMPLATE_DPORT=1): no reference, no rehash',
     '\t/* Otherwise persistence would send the client straight back.  We\n'
     '\t * hold no reference on the template, only cp\'s control link, so\n'
     '\t * take one for the unhash/rehash.\n'
     '\t */\n'
     '\tif (ctl && ctl->dest == dest && __ip_vs_conn_get(ctl)) {\n'
     '\t\tip_vs_conn_invalidate_template(ctl);\n'
     '\t\t__ip_vs_conn_put(ctl);\n'
     '\t}\n',
     '\t/* Otherwise persistence would send the client straight back.\n'
     '\t * Invalidate the template as ip_vs_check_template() does, by its\n'
     '\t * dport, which lookups check and which is not a hash key.\n'
     '\t */\n'
     '\tif (ctl && ctl->dest == dest)\n'
     '\t\tctl->dport = htons(0xffff);\n', 1),
    ('the decision is local to ip_vs_core.c',
     '\nenum ip_vs_reuse_verdict\nip_vs_reuse_quiescent(',
     '\nstatic enum ip_vs_reuse_verdict\nip_vs_reuse_quiescent(', 1),
    ('the caller is ip_vs_in_hook()',
     'Called by ip_vs_in() under', 'Called by ip_vs_in_hook() under', 1),
]


def die(msg):
    sys.stderr.write('series.py: %s\n' % msg)
    sys.exit(1)


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def replace(text, what, old, new, times=1):
    n = text.count(old)
    if n != times:
        die('%s: expected %d match(es), found %d of:\n%s' % (what, times, n, old))
    return text.replace(old, new)


def insert_after(text, what, anchor, new):
    return replace(text, what, anchor, anchor + new)


def insert_before(text, what, anchor, new):
    return replace(text, what, anchor, new + anchor)


def template(name):
    return read(os.path.join(TEMPLATES, name))


def compat_values(path):
    vals = {}
    for line in read(path).splitlines():
        m = re.match(r'#define\s+(IPVS_REUSE_\w+)\s+([01])\s*$', line)
        if m:
            vals[m.group(1)] = int(m.group(2))
    for k, v in EXPECTED_COMPAT.items():
        if vals.get(k) != v:
            die('kmod/compat.sh says %s=%s for this tree; the series is written for %s=%d'
                % (k, vals.get(k), k, v))
    return vals


def resolve_ifs(text, vals):
    """Keeps the branch of each '#if IPVS_REUSE_X' block that X selects."""
    out, stack = [], []
    for line in text.splitlines(keepends=True):
        m = re.match(r'#if\s+(!?)(IPVS_REUSE_\w+)\s*$', line)
        if m:
            if m.group(2) not in vals:
                die('shared text tests %s, which kmod/compat.sh does not define' % m.group(2))
            val = bool(vals[m.group(2)]) != bool(m.group(1))
            stack.append([val, True])
            continue
        if stack and re.match(r'#else\s*$', line):
            stack[-1][1] = False
            continue
        if stack and re.match(r'#endif\s*$', line):
            stack.pop()
            continue
        if all(v == b for v, b in stack):
            out.append(line)
    if stack:
        die('shared text: unbalanced #if IPVS_REUSE_ block')
    text = ''.join(out)
    if 'IPVS_REUSE_' in re.sub(r'IP_VS_REUSE_|IPVS_REUSE_\w+_H', '', text):
        die('shared text still names an IPVS_REUSE_ compat macro after resolving')
    return text


def dedent_tabs(text, n):
    """Shifts every line of a decision-block left by N tabs (the call site)."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.strip():
            if not line.startswith('\t' * n):
                die('call site: line not indented by %d tabs: %r' % (n, line))
            line = line[n:]
        lines.append(line)
    return ''.join(lines)


def shared_text(vals):
    src = read(REUSE_C)
    if src.count(BEGIN) != 1 or src.count(END) != 1:
        die('kmod/ip_vs_reuse.c must hold one "%s" and one "%s" line'
            % (BEGIN.strip(), END.strip()))
    text = src.split(BEGIN, 1)[1].split(END, 1)[0].strip('\n') + '\n'
    for fn in ('ip_vs_reuse_state_matches', 'ip_vs_reuse_is_syn',
               'ip_vs_reuse_other_dest', 'ip_vs_reuse_expire_template',
               'ip_vs_reuse_quiescent'):
        if not re.search(r'^(static )?\w[\w ]*\n?%s\(' % fn, text, re.M):
            die('the shared text of kmod/ip_vs_reuse.c lacks %s()' % fn)
    text = resolve_ifs(text, vals)
    for what, old, new, times in SUBSTITUTIONS:
        text = replace(text, what, old, new, times)
    for bad in ('ip_vs_reuse_net', 'atomic64_', 'ip_vs_conn_invalidate_template',
                'ip_vs_reuse_dest_available'):
        if bad in text:
            die('shared text still uses %s after the substitutions' % bad)
    return text


def reuse_h_block(pattern, what):
    m = re.findall(pattern, read(REUSE_H), re.M | re.S)
    if len(m) != 1:
        die('kmod/ip_vs_reuse.h: expected one %s, found %d' % (what, len(m)))
    return m[0]


def step1(tree):
    # include/net/ip_vs.h: the field, its accessors, the bits, the key.
    p = os.path.join(tree, 'include/net/ip_vs.h')
    t = read(p)
    t = insert_after(t, 'ip_vs.h: jump_label include', '#include <linux/bug.h>\n',
                     '#include <linux/jump_label.h>\n')
    t = insert_after(t, 'ip_vs.h: netns_ipvs field',
                     '\tint\t\t\tsysctl_conn_reuse_mode;\n',
                     '\tint\t\t\tsysctl_conn_reuse_quiescent;\n')
    t = insert_after(t, 'ip_vs.h: accessor (CONFIG_SYSCTL)',
                     'static inline int sysctl_conn_reuse_mode(struct netns_ipvs *ipvs)\n'
                     '{\n\treturn ipvs->sysctl_conn_reuse_mode;\n}\n',
                     '\nstatic inline int sysctl_conn_reuse_quiescent(struct netns_ipvs *ipvs)\n'
                     '{\n\treturn READ_ONCE(ipvs->sysctl_conn_reuse_quiescent);\n}\n')
    t = insert_after(t, 'ip_vs.h: accessor (!CONFIG_SYSCTL)',
                     'static inline int sysctl_conn_reuse_mode(struct netns_ipvs *ipvs)\n'
                     '{\n\treturn 1;\n}\n',
                     '\nstatic inline int sysctl_conn_reuse_quiescent(struct netns_ipvs *ipvs)\n'
                     '{\n\treturn 0;\n}\n')
    bits = reuse_h_block(r'^(#define IP_VS_REUSE_Q_CLOSED\t.*?\n'
                         r'#define IP_VS_REUSE_Q_NOOUTPUT\t.*?\n)'
                         r'#define IP_VS_REUSE_Q_MASK\t\(IP_VS_REUSE_Q_CLOSED \| '
                         r'IP_VS_REUSE_Q_NOOUTPUT\)\n', 'CLOSED/NOOUTPUT/MASK bit set')
    t = insert_before(t, 'ip_vs.h: bits and key',
                      '/* Get load factor to map conn_count/u_thresh to t->size */\n',
                      '/* Bits of net.ipv4.vs.conn_reuse_quiescent */\n' + bits +
                      '\n/* On while any netns has conn_reuse_quiescent set */\n'
                      'DECLARE_STATIC_KEY_FALSE(%s);\n\n' % KEY)
    write(p, t)

    # net/netfilter/ipvs/ip_vs_ctl.c: the key, the handler, the table entry,
    # its data pointer and the netns exit accounting.
    p = os.path.join(tree, 'net/netfilter/ipvs/ip_vs_ctl.c')
    t = read(p)
    t = insert_after(t, 'ip_vs_ctl.c: key definition',
                     'static struct lock_class_key __ipvs_service_key;\n',
                     '\nDEFINE_STATIC_KEY_FALSE(%s);\n' % KEY)
    t = insert_before(t, 'ip_vs_ctl.c: handler',
                      'static int\nproc_do_sync_threshold(const struct ctl_table *table, int write,\n',
                      template('ctl-handler.c'))
    t = insert_after(t, 'ip_vs_ctl.c: vs_vars entry',
                     '\t\t.procname\t= "conn_reuse_mode",\n'
                     '\t\t.maxlen\t\t= sizeof(int),\n'
                     '\t\t.mode\t\t= 0644,\n'
                     '\t\t.proc_handler\t= proc_dointvec,\n'
                     '\t},\n',
                     '\t{\n'
                     '\t\t.procname\t= "conn_reuse_quiescent",\n'
                     '\t\t.maxlen\t\t= sizeof(int),\n'
                     '\t\t.mode\t\t= 0644,\n'
                     '\t\t.proc_handler\t= proc_do_conn_reuse_quiescent,\n'
                     '\t\t.extra1\t\t= SYSCTL_ZERO,\n'
                     '\t\t.extra2\t\t= SYSCTL_THREE,\n'
                     '\t},\n')
    # Writable where conn_reuse_mode is: 7.3 leaves that one 0644 in a netns
    # of another user namespace, so no "if (unpriv) mode = 0444" here.
    t = insert_after(t, 'ip_vs_ctl.c: table data',
                     '\ttbl[idx++].data = &ipvs->sysctl_conn_reuse_mode;\n',
                     '\ttbl[idx++].data = &ipvs->sysctl_conn_reuse_quiescent;\n')
    t = replace(t, 'ip_vs_ctl.c: init error path',
                'err:\n\tunregister_net_sysctl_table(ipvs->sysctl_hdr);\n',
                'err:\n\tunregister_net_sysctl_table(ipvs->sysctl_hdr);\n'
                '\tip_vs_reuse_quiescent_exit(ipvs);\n')
    t = replace(t, 'ip_vs_ctl.c: netns exit',
                '\tcancel_work_sync(&ipvs->defense_work.work);\n'
                '\tunregister_net_sysctl_table(ipvs->sysctl_hdr);\n',
                '\tcancel_work_sync(&ipvs->defense_work.work);\n'
                '\tunregister_net_sysctl_table(ipvs->sysctl_hdr);\n'
                '\tip_vs_reuse_quiescent_exit(ipvs);\n')
    write(p, t)

    # Documentation/networking/ipvs-sysctl.rst, in alphabetical place.
    p = os.path.join(tree, 'Documentation/networking/ipvs-sysctl.rst')
    t = read(p)
    t = insert_before(t, 'ipvs-sysctl.rst: entry before conntrack',
                      'conntrack - BOOLEAN\n', template('doc-conn_reuse_quiescent.rst'))
    write(p, t)


def step2(tree, vals):
    p = os.path.join(tree, 'net/netfilter/ipvs/ip_vs_core.c')
    t = read(p)
    verdict = reuse_h_block(r'^(enum ip_vs_reuse_verdict \{\n.*?\n\};\n)', 'enum ip_vs_reuse_verdict')
    code = ('/* What ip_vs_in_hook() does with a packet after ip_vs_reuse_quiescent() */\n'
            + verdict + '\n' + shared_text(vals))
    anchor = ('\tcase IPPROTO_SCTP:\n\t\treturn cp->state == IP_VS_SCTP_S_CLOSED;\n'
              '\tdefault:\n\t\treturn false;\n\t}\n}\n')
    t = insert_after(t, 'ip_vs_core.c: after is_new_conn_expected()', anchor, '\n' + code)
    write(p, t)
    # The call site is patches/hooks/3-call.patch itself, which the
    # out-of-tree build applies to this same function; only the key differs.
    r = subprocess.run(['patch', '-p1', '--fuzz=0', '--forward', '--batch', '--quiet',
                        '--no-backup-if-mismatch', '-r', '-', '-d', tree, '-i', CALL_PATCH],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        die('patches/hooks/3-call.patch does not apply to %s with --fuzz=0:\n%s' % (p, r.stdout))
    t = read(p)
    t = replace(t, 'ip_vs_core.c: the call site tests the static key',
                'if (cp && ip_vs_reuse_active()) {',
                'if (cp && static_branch_unlikely(&%s)) {' % KEY)
    write(p, t)


def step3(tree):
    p = os.path.join(tree, 'tools/testing/selftests/net/netfilter/ipvs.sh')
    t = read(p)
    t = insert_after(t, 'ipvs.sh: second real server address',
                     'readonly rip_v4=172.16.0.2\n', 'readonly rip2_v4=172.16.0.3\n')
    t = insert_after(t, 'ipvs.sh: client port',
                     'readonly port=8080\n', 'readonly cport=40000\n')
    t = insert_after(t, 'ipvs.sh: helpers after test_service()',
                     'test_service() {\n\tserver_listen\n\tclient_connect\n\tverify_data\n}\n',
                     '\n' + template('selftest-helpers.sh'))
    t = insert_before(t, 'ipvs.sh: test before run_tests()',
                      'run_tests() {\n', template('selftest-test.sh') + '\n')
    t = insert_before(t, 'ipvs.sh: run_tests() entry',
                      '\treturn $errors\n}\n', template('selftest-run.sh') + '\n')
    write(p, t)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ('1', '2', '3'):
        sys.stderr.write(__doc__)
        sys.exit(2)
    step, tree, compat = sys.argv[1:]
    vals = compat_values(compat)
    if step == '1':
        step1(tree)
    elif step == '2':
        step2(tree, vals)
    else:
        step3(tree)


if __name__ == '__main__':
    main()
