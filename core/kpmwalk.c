// SPDX-License-Identifier: GPL-2.0
/*
 * kpm utility: kpmwalk, the core's bounded, checked walks as a command.
 *
 * crash's list and tree follow whatever the pointers say; kpmwalk walks a
 * list_head chain, an hlist, a red-black tree, an XArray or an IDR the way
 * the decoders do (kpm_list_walk(), kernel.h's walks): every node is
 * checked against the one it was reached from (list prev, hlist pprev,
 * rb_node and xa_node parents), depth and length are bounded, and the
 * walk ends with one line saying where and why it stopped.  Layouts come
 * from the dump's debug info, as everywhere in kpm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kernel.h"
#include "kpm.h"

/* Entries printed at most: a cyclic or garbage structure stops here. */
#define KPMWALK_MAX	(16L << 20)

enum { LH_NEXT, LH_PREV, NR_LH };

static const struct kpm_member lh_tab[NR_LH + 1] = {
	[LH_NEXT] = KPM_MEMBER("list_head", next),
	[LH_PREV] = KPM_MEMBER("list_head", prev),
	[NR_LH] = { NULL },
};

struct walk_out {
	FILE *fp;
	uint64_t off;		/* -o: the node's offset in its containing struct */
};

static int print_node(struct kpm_target *t, uint64_t node, void *arg)
{
	struct walk_out *o = arg;

	fprintf(o->fp, "%" PRIx64 "\n", node - o->off);
	return 0;
}

static int print_entry(struct kpm_target *t, uint64_t index, uint64_t entry, void *arg)
{
	struct walk_out *o = arg;

	fprintf(o->fp, "  %" PRIu64 ": %" PRIx64 "\n", index, entry);
	return 0;
}

/* ADDRESS: hexadecimal (with or without 0x), else a symbol's address. */
static int parse_address(struct kpm_target *t, const char *s, uint64_t *addr)
{
	const char *p = s;
	char *end;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (*p && strspn(p, "0123456789abcdefABCDEF") == strlen(p)) {
		errno = 0;
		*addr = strtoull(p, &end, 16);
		if (errno == ERANGE || *end) {
			kpm_errf(t, "address '%s' is out of range (64 bits)", s);
			return -2;	/* bad arguments: the front end adds the usage */
		}
		return 0;
	}
	if (p == s && *s && t->ops->symbol(t, s, addr) == 0)
		return 0;
	kpm_errf(t, "'%s' is neither a hexadecimal address nor a symbol", s);
	return -2;	/* bad arguments: the front end adds the usage */
}

static long kpmwalk_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	struct kpm_member m[NR_LH + 1];
	struct walk_out o = { fp, kpm_opt_num(a, 'o') };
	const char *kind = kpm_opt_str(a, 't');
	uint64_t addr;
	int offset_ok;

	if (!kind) {
		kpm_errf(t, "-t is required: list, hlist, rbtree, xarray or idr");
		return -2;	/* bad arguments: the front end adds the usage */
	}
	if (a->npos != 1) {
		if (a->npos)
			kpm_errf(t, "one address, not %d", a->npos);
		else
			kpm_errf(t, "an address is required: the list head, hlist head, rb_root, xarray or idr");
		return -2;	/* bad arguments: the front end adds the usage */
	}
	offset_ok = !strcmp(kind, "list") || !strcmp(kind, "hlist") || !strcmp(kind, "rbtree");
	if (!offset_ok && strcmp(kind, "xarray") && strcmp(kind, "idr")) {
		kpm_errf(t, "-t %s: not list, hlist, rbtree, xarray or idr", kind);
		return -2;	/* bad arguments: the front end adds the usage */
	}
	if (!offset_ok && kpm_opt_given(a, 'o')) {
		kpm_errf(t, "-o applies to list, hlist and rbtree walks, not to -t %s", kind);
		return -2;	/* bad arguments: the front end adds the usage */
	}
	if (parse_address(t, a->pos[0], &addr))
		return -2;

	if (!strcmp(kind, "list")) {
		memcpy(m, lh_tab, sizeof(m));
		if (kpm_resolve(t, m))
			return -1;
		return kpm_list_walk(t, addr, m[LH_NEXT].off, m[LH_PREV].off, KPMWALK_MAX,
				     print_node, &o);
	}
	if (!strcmp(kind, "hlist"))
		return kpm_hlist_walk(t, addr, KPMWALK_MAX, print_node, &o);
	if (!strcmp(kind, "rbtree"))
		return kpm_rbtree_walk(t, addr, KPMWALK_MAX, print_node, &o);
	if (!strcmp(kind, "xarray"))
		return kpm_xa_walk(t, addr, KPMWALK_MAX, print_entry, &o);
	return kpm_idr_walk(t, addr, KPMWALK_MAX, print_entry, &o);
}

static const struct kpm_opt kpmwalk_opts[] = {
	{ 't', KPM_OPT_STR, "list|hlist|rbtree|xarray|idr", "what ADDRESS holds" },
	{ 'o', KPM_OPT_NUM, "offset", "offset of the node in its containing struct" },
	{ 0 },
};

static const char *const kpmwalk_help[] = {
	"  Walks a kernel list, hlist, red-black tree, XArray or IDR the way kpm's",
	"  decoders do, and prints one line per entry.  Unlike list and tree, every",
	"  node is checked against the node it was reached from (a list_head's",
	"  prev, an hlist_node's pprev, an rb_node's or xa_node's parent), the",
	"  walk is bounded in depth and in entries and never runs around a cycle,",
	"  and where it stops early a last line says where and why.  A tree walk",
	"  skips a bad subtree and goes on with the rest.",
	"",
	"    -t list    ADDRESS is a struct list_head (a list's head): prints every",
	"               node on it but the head, as \"list -H\" does.",
	"    -t hlist   ADDRESS is a struct hlist_head: prints every hlist_node.",
	"    -t rbtree  ADDRESS is a struct rb_root: prints every rb_node in order,",
	"               as \"tree -t rbtree -l\" does.",
	"    -t xarray  ADDRESS is a struct xarray: prints \"INDEX: ENTRY\" for every",
	"               entry xa_for_each() returns (value entries included; node,",
	"               sibling, retry and zero entries are the XArray's own).",
	"    -t idr     ADDRESS is a struct idr: prints \"ID: ENTRY\", ids counted",
	"               from the IDR's idr_base, as idr_for_each() does.",
	"    -o offset  for list, hlist and rbtree: the offset of the list_head,",
	"               hlist_node or rb_node in the structure that contains it",
	"               (decimal, or hex with 0x); the structure's address is",
	"               printed instead of the node's.",
	"",
	"  ADDRESS is hexadecimal, with or without 0x, or a symbol.",
	"\nEXAMPLE",
	"  The loaded modules (struct module.list is at offset 8 in this kernel),",
	"  the pids of the initial pid namespace, and the kernel threads: the",
	"  task_structs on init_struct_pid's PIDTYPE_PGID hlist (pid_links[2] at",
	"  offset 1048):",
	"",
	"    crash> kpmwalk -t list -o 8 modules",
	"    ffffffffc015d040",
	"    crash> p &init_pid_ns.idr",
	"    $1 = (struct idr *) 0xffffffffbc635080 <init_pid_ns>",
	"    crash> kpmwalk -t idr ffffffffbc635080",
	"      1: ffff8b1980183100",
	"      2: ffff8b1980183180",
	"      3: ffff8b1980183200",
	"    ...",
	"      28: ffff8b1980941d00",
	"      35: ffff8b19810ec680",
	"    crash> p &init_struct_pid.tasks[PIDTYPE_PGID]",
	"    $2 = (struct hlist_head *) 0xffffffffbc635140 <init_struct_pid+32>",
	"    crash> kpmwalk -t hlist -o 1048 ffffffffbc635140",
	"    ffff8b1980abba80",
	"    ffff8b1980243a80",
	"    ffff8b1980ab8000",
	"    ...",
	"    ffff8b19801c0000",
	"",
	"  A file's page cache, in a dump that lacks the page holding the XArray",
	"  node of its first 256 pages: the rest is printed, then where it broke.",
	"",
	"    crash> kpmwalk -t xarray ffff8b1980acda98",
	"      256: ffffb6ac809efb80",
	"      257: ffffb6ac809efbc0",
	"    ...",
	"      694: ffffb6ac809a2900",
	"    kpmwalk: xarray at 0xffff8b1980acda98: xa_node: cannot read 192 bytes at 0xffff8b1980404320: page not in dump",
	NULL
};

KPM_DECODER(kpmwalk_decoder) = {
	.name = "kpmwalk",
	.summary = "walk a list, hlist, red-black tree, XArray or IDR, bounded and checked",
	.synopsis = "-t list|hlist|rbtree|xarray|idr [-o offset] address",
	.help = kpmwalk_help,
	.opts = kpmwalk_opts,
	.posargs = "address",
	.report = kpmwalk_report,
};
