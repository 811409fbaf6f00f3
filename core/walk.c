// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder core: generic walks of the kernel's red-black trees, hlists,
 * XArrays and IDRs (declared in kernel.h; list_head chains are
 * kpm_list_walk() in target.c).
 *
 * Every layout comes from the dump's debug info; what is not in debug info
 * (the XArray's entry encoding) is named below with where it is defined.
 * Every walk is bounded in depth and in entries, and cannot loop: a tree
 * node's parent pointer must name the node it was reached from (rb_node's
 * __rb_parent_color, xa_node's parent and offset), an hlist node's pprev
 * the next field it was reached through, so that no node is visited twice
 * however the pointers were damaged.  A tree walk that meets a bad node
 * (unreadable, or inconsistent with its parent) skips that subtree, goes
 * on with the rest and returns -1 at the end with the first problem in
 * t->err; a chain (hlist) stops there.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kernel.h"

/* A red-black tree of 2^64 nodes is at most 128 deep (2 log2(n + 1)). */
#define RB_MAX_DEPTH	128
/* Object sizes taken from debug info are sanity-bounded before use. */
#define MAX_NODE_SIZE	4096

/*
 * XArray entry encoding: #defines and inline functions of
 * include/linux/xarray.h, not in debug info.  The same since the XArray
 * took over the radix tree, commit f8d5d0cc145c ("xarray: Add definition
 * of struct xarray") (in v4.20), through v6.12 (drgn's xa_for_each()
 * assumes it for every XArray kernel; checked here in the 6.1 and 6.12
 * sources):
 *
 *   bits 1:0 == 10          an internal entry (xa_is_internal())
 *   internal, above 4096    a node: struct xa_node at entry - 2
 *                           (xa_is_node(), xa_to_node())
 *   xa_mk_internal(0..62)   sibling entries of a multi-index entry, naming
 *                           the slot of its canonical entry (xa_mk_sibling();
 *                           xa_is_sibling() is below xa_mk_sibling(XA_CHUNK_SIZE - 1))
 *   xa_mk_internal(256)     XA_RETRY_ENTRY (a node being freed)
 *   xa_mk_internal(257)     XA_ZERO_ENTRY (reserved: reads as NULL)
 *   bit 0 set               a value entry (xa_is_value()): a real entry,
 *                           returned by xa_for_each() like a pointer
 *
 * XA_CHUNK_SHIFT (6, or 4 with CONFIG_BASE_SMALL) is not needed: the
 * number of slots per node is sizeof(xa_node.slots) / sizeof(void *).
 */
#define XA_INTERNAL_MASK	3UL
#define XA_INTERNAL_TAG		2UL
#define XA_NODE_MIN		4096UL
#define XA_MK_INTERNAL(v)	(((uint64_t)(v) << 2) | XA_INTERNAL_TAG)
#define XA_RETRY_ENTRY		XA_MK_INTERNAL(256)
#define XA_ZERO_ENTRY		XA_MK_INTERNAL(257)

static int xa_is_internal(uint64_t e)
{
	return (e & XA_INTERNAL_MASK) == XA_INTERNAL_TAG;
}

static int xa_is_node(uint64_t e)
{
	return xa_is_internal(e) && e > XA_NODE_MIN;
}

/* The first problem a walk met, and how many more. */
struct walk_err {
	char first[KPM_ERRLEN];
	long more;
};

static void __attribute__((format(printf, 2, 3)))
werr(struct walk_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e->first[0]) {
		e->more++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(e->first, sizeof(e->first), fmt, ap);
	va_end(ap);
}

/* The walk's result: @n, or -1 with the first problem in t->err. */
static long wdone(struct kpm_target *t, const struct walk_err *e, long n)
{
	if (!e->first[0])
		return n;
	if (e->more)
		kpm_errf(t, "%s (and %ld more problem%s)", e->first, e->more,
			 e->more == 1 ? "" : "s");
	else
		kpm_errf(t, "%s", e->first);
	return -1;
}

/* t->err, copied: kpm_errf() must not format t->err into itself. */
static const char *why(struct kpm_target *t, char *buf)
{
	memcpy(buf, t->err, KPM_ERRLEN);
	buf[KPM_ERRLEN - 1] = 0;
	return buf;
}

/* The first @n members of @tab, resolved into @m (room for n + 1). */
static int resolve(struct kpm_target *t, struct kpm_member *m,
		   const struct kpm_member *tab, size_t n)
{
	memcpy(m, tab, n * sizeof(*m));
	memset(&m[n], 0, sizeof(m[n]));
	return kpm_resolve(t, m);
}

/*
 * sizeof(struct @type) from debug info, checked to hold the members
 * [from, to) of @m that the walk picks out of a copy of it.
 */
static long node_size(struct kpm_target *t, const char *type,
		      const struct kpm_member *m, int from, int to)
{
	long size = t->ops->type_size(t, type), need = 0;
	int i;

	for (i = from; i < to; i++)
		if (kpm_has(&m[i]) && m[i].off + m[i].size > need)
			need = m[i].off + m[i].size;
	if (size < need || size > MAX_NODE_SIZE) {
		kpm_errf(t, "struct %s: size %ld from debug info does not hold its members (%ld bytes)",
			 type, size, need);
		return -1;
	}
	return size;
}

/* Red-black trees */

enum { RR_NODE, RB_PARENT_COLOR, RB_RIGHT, RB_LEFT, NR_RB };

static const struct kpm_member rb_tab[NR_RB + 1] = {
	[RR_NODE] = KPM_MEMBER("rb_root", rb_node),
	[RB_PARENT_COLOR] = KPM_MEMBER("rb_node", __rb_parent_color),
	[RB_RIGHT] = KPM_MEMBER("rb_node", rb_right),
	[RB_LEFT] = KPM_MEMBER("rb_node", rb_left),
	[NR_RB] = { NULL },
};

/* The colour lives in bit 0 of __rb_parent_color; nodes are long-aligned. */
#define RB_PARENT_MASK	(~(uint64_t)3)

/* A child pointer: NULL, or a plausible, aligned node address. */
static int rb_ptr_ok(const struct kpm_target *t, uint64_t p)
{
	return !p || (kpm_kptr_ok(t, p) && !(p & 3));
}

struct rb_frame {
	uint64_t node, right;
};

long kpm_rbtree_walk(struct kpm_target *t, uint64_t root, long max,
		     kpm_list_fn fn, void *arg)
{
	return kpm_rbtree_walk_src(t, root, max, fn, arg, NULL, NULL);
}

long kpm_rbtree_walk_src(struct kpm_target *t, uint64_t root, long max,
			 kpm_list_fn fn, void *arg, kpm_node_src src, void *src_arg)
{
	struct kpm_member m[NR_RB + 1];
	struct rb_frame stack[RB_MAX_DEPTH];
	struct walk_err e = { "", 0 };
	unsigned char buf[MAX_NODE_SIZE];
	char w[KPM_ERRLEN];
	uint64_t cur, parent = 0, pc, left, right;
	long nsize, sp = 0, n = 0;

	if (resolve(t, m, rb_tab, NR_RB) ||
	    (nsize = node_size(t, "rb_node", m, RB_PARENT_COLOR, NR_RB)) < 0)
		return -1;
	if (kpm_read_member(t, root, &m[RR_NODE], &cur)) {
		kpm_errf(t, "rbtree at %#" PRIx64 ": %s", root, why(t, w));
		return -1;
	}
	if (!rb_ptr_ok(t, cur)) {
		kpm_errf(t, "rbtree at %#" PRIx64 ": rb_node %#" PRIx64 " is not a node address",
			 root, cur);
		return -1;
	}
	for (;;) {
		/* Down the left spine of the subtree at cur. */
		while (cur) {
			if (sp == RB_MAX_DEPTH) {
				werr(&e, "rbtree at %#" PRIx64 ": node %#" PRIx64 " deeper than %d levels",
				     root, cur, RB_MAX_DEPTH);
				break;
			}
			if ((!src || src(src_arg, cur, buf, nsize)) &&
			    kpm_read(t, cur, buf, nsize, "rb_node")) {
				werr(&e, "rbtree at %#" PRIx64 ": %s", root, why(t, w));
				break;
			}
			pc = kpm_field(buf, &m[RB_PARENT_COLOR]);
			if ((pc & RB_PARENT_MASK) != parent) {
				werr(&e, "rbtree at %#" PRIx64 ": node %#" PRIx64 ": parent %#" PRIx64
				     ", expected %#" PRIx64, root, cur, pc & RB_PARENT_MASK, parent);
				break;
			}
			left = kpm_field(buf, &m[RB_LEFT]);
			right = kpm_field(buf, &m[RB_RIGHT]);
			if (!rb_ptr_ok(t, left)) {
				werr(&e, "rbtree at %#" PRIx64 ": node %#" PRIx64 ": rb_left %#" PRIx64
				     " is not a node address", root, cur, left);
				left = 0;
			}
			if (!rb_ptr_ok(t, right)) {
				werr(&e, "rbtree at %#" PRIx64 ": node %#" PRIx64 ": rb_right %#" PRIx64
				     " is not a node address", root, cur, right);
				right = 0;
			}
			if (left && left == right) {
				werr(&e, "rbtree at %#" PRIx64 ": node %#" PRIx64
				     ": rb_left and rb_right are both %#" PRIx64, root, cur, left);
				right = 0;
			}
			stack[sp].node = cur;
			stack[sp].right = right;
			sp++;
			parent = cur;
			cur = left;
		}
		if (!sp)
			break;
		sp--;
		if (n == max) {
			werr(&e, "rbtree at %#" PRIx64 ": stopped after %ld nodes (limit)", root, max);
			break;
		}
		if (fn && fn(t, stack[sp].node, arg) < 0)
			return -1;
		n++;
		parent = stack[sp].node;
		cur = stack[sp].right;
	}
	return wdone(t, &e, n);
}

int kpm_rbtree_find(struct kpm_target *t, uint64_t root, kpm_rb_cmp cmp, void *arg,
		    uint64_t *found)
{
	struct kpm_member m[NR_RB + 1];
	char w[KPM_ERRLEN];
	uint64_t node, next;
	int depth, c;

	*found = 0;
	if (resolve(t, m, rb_tab, NR_RB))
		return -1;
	if (kpm_read_member(t, root, &m[RR_NODE], &node)) {
		kpm_errf(t, "rbtree at %#" PRIx64 ": %s", root, why(t, w));
		return -1;
	}
	for (depth = 0; node; depth++) {
		if (!rb_ptr_ok(t, node)) {
			kpm_errf(t, "rbtree at %#" PRIx64 ": %#" PRIx64 " at depth %d is not a node address",
				 root, node, depth);
			return -1;
		}
		if (depth == RB_MAX_DEPTH) {
			kpm_errf(t, "rbtree at %#" PRIx64 ": node %#" PRIx64 " deeper than %d levels",
				 root, node, RB_MAX_DEPTH);
			return -1;
		}
		c = cmp(t, node, arg);
		if (!c) {
			*found = node;
			return 0;
		}
		if (kpm_read_member(t, node, &m[c < 0 ? RB_LEFT : RB_RIGHT], &next)) {
			kpm_errf(t, "rbtree at %#" PRIx64 ": %s", root, why(t, w));
			return -1;
		}
		node = next;
	}
	return 0;
}

/* hlists */

enum { HH_FIRST, HN_NEXT, HN_PPREV, NR_HL };

static const struct kpm_member hl_tab[NR_HL + 1] = {
	[HH_FIRST] = KPM_MEMBER("hlist_head", first),
	[HN_NEXT] = KPM_MEMBER("hlist_node", next),
	[HN_PPREV] = KPM_MEMBER("hlist_node", pprev),
	[NR_HL] = { NULL },
};

/*
 * Each node's pprev must hold the address of the next field (or the head's
 * first) it was reached through.  A node has one pprev, so a chain that
 * comes back to a node it already passed fails the check there: no cycle
 * is walked, and no Brent pass is needed.
 */
long kpm_hlist_walk(struct kpm_target *t, uint64_t head, long max,
		    kpm_list_fn fn, void *arg)
{
	struct kpm_member m[NR_HL + 1];
	unsigned char buf[MAX_NODE_SIZE];
	char w[KPM_ERRLEN];
	uint64_t node, link, pprev;
	long nsize, n = 0;

	if (resolve(t, m, hl_tab, NR_HL) ||
	    (nsize = node_size(t, "hlist_node", m, HN_NEXT, NR_HL)) < 0)
		return -1;
	link = head + m[HH_FIRST].off;
	if (kpm_read_member(t, head, &m[HH_FIRST], &node)) {
		kpm_errf(t, "hlist at %#" PRIx64 ": %s", head, why(t, w));
		return -1;
	}
	while (node) {
		if (!kpm_kptr_ok(t, node) || node == head) {
			kpm_errf(t, "hlist at %#" PRIx64 ": %s %#" PRIx64 " at %#" PRIx64 " %s", head,
				 n ? "next" : "first", node, link,
				 node == head ? "points back at the head" : "is not a node address");
			return -1;
		}
		if (n == max) {
			kpm_errf(t, "hlist at %#" PRIx64 ": stopped after %ld entries (limit)", head, max);
			return -1;
		}
		if (kpm_read(t, node, buf, nsize, "hlist_node")) {
			kpm_errf(t, "hlist at %#" PRIx64 ": %s", head, why(t, w));
			return -1;
		}
		pprev = kpm_field(buf, &m[HN_PPREV]);
		if (pprev != link) {
			kpm_errf(t, "hlist at %#" PRIx64 ": node %#" PRIx64 ": pprev %#" PRIx64
				 ", expected %#" PRIx64, head, node, pprev, link);
			return -1;
		}
		if (fn && fn(t, node, arg) < 0)
			return -1;
		n++;
		link = node + m[HN_NEXT].off;
		node = kpm_field(buf, &m[HN_NEXT]);
	}
	return n;
}

/* XArrays */

enum {
	XA_HEAD, XN_SHIFT, XN_OFFSET, XN_COUNT, XN_PARENT, XN_SLOTS, NR_XA,
	IDR_RT = NR_XA, IDR_BASE, NR_XA_IDR
};

static const struct kpm_member xa_tab[NR_XA_IDR + 1] = {
	[XA_HEAD] = KPM_MEMBER("xarray", xa_head),
	[XN_SHIFT] = KPM_MEMBER("xa_node", shift),
	[XN_OFFSET] = KPM_MEMBER("xa_node", offset),
	[XN_COUNT] = KPM_MEMBER("xa_node", count),
	[XN_PARENT] = KPM_MEMBER("xa_node", parent),
	[XN_SLOTS] = KPM_MEMBER("xa_node", slots),
	[IDR_RT] = KPM_MEMBER("idr", idr_rt),
	[IDR_BASE] = KPM_MEMBER_OPT("idr", idr_base),	/* since v4.16 */
	[NR_XA_IDR] = { NULL },
};

/* One node on the way down: its copy and the next slot to look at. */
struct xa_level {
	uint64_t node, base;	/* the index of slot 0 */
	unsigned int shift;
	long slot;
	unsigned char *buf;
};

struct xa_walk {
	struct kpm_target *t;
	uint64_t xa;
	struct kpm_member m[NR_XA + 1];
	long nsize, ps, nslots, chunk_shift, bits, depth;
	struct xa_level *lv;
	long sp, n, max;
	kpm_xa_fn fn;
	void *arg;
	int stop;		/* limit reached, or fn failed (fn_failed) */
	int fn_failed;
	struct walk_err e;
};

static void xa_emit(struct xa_walk *x, uint64_t index, uint64_t entry)
{
	if (x->n == x->max) {
		werr(&x->e, "xarray at %#" PRIx64 ": stopped after %ld entries (limit)", x->xa, x->max);
		x->stop = 1;
		return;
	}
	if (x->fn && x->fn(x->t, index, entry, x->arg) < 0) {
		x->stop = x->fn_failed = 1;
		return;
	}
	x->n++;
}

/*
 * Read the node at @node, reached from @parent's slot @offset (0, 0 for
 * the root), which must have shift @shift (-1: any valid root shift), and
 * push it.  A node that fails a check is reported and not entered.
 */
static void xa_push(struct xa_walk *x, uint64_t node, uint64_t parent, long offset,
		    long shift, uint64_t base)
{
	struct kpm_target *t = x->t;
	struct xa_level *l;
	uint64_t s, p, o, c;
	char w[KPM_ERRLEN];

	if (x->sp == x->depth) {
		werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 " deeper than %ld levels",
		     x->xa, node, x->depth);
		return;
	}
	l = &x->lv[x->sp];
	if (kpm_read(t, node, l->buf, x->nsize, "xa_node")) {
		werr(&x->e, "xarray at %#" PRIx64 ": %s", x->xa, why(t, w));
		return;
	}
	s = kpm_field(l->buf, &x->m[XN_SHIFT]);
	p = kpm_field(l->buf, &x->m[XN_PARENT]);
	o = kpm_field(l->buf, &x->m[XN_OFFSET]);
	c = kpm_field(l->buf, &x->m[XN_COUNT]);
	if (shift < 0 && (s >= (uint64_t)x->bits || s % x->chunk_shift)) {
		werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": shift %" PRIu64 " out of range",
		     x->xa, node, s);
		return;
	}
	if (shift >= 0 && s != (uint64_t)shift) {
		werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": shift %" PRIu64 ", expected %ld",
		     x->xa, node, s, shift);
		return;
	}
	/*
	 * A root node's offset means nothing: xas_shrink() makes a child the
	 * root and clears its parent, not its offset (seen: offset 23 on a
	 * 6.12 vcpu_array).  Below the root both must name the parent slot.
	 */
	if (p != parent || (parent && o != (uint64_t)offset)) {
		werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": parent %#" PRIx64
		     " offset %" PRIu64 ", expected %#" PRIx64 " offset %ld",
		     x->xa, node, p, o, parent, offset);
		return;
	}
	if (c > (uint64_t)x->nslots) {
		werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": count %" PRIu64
		     " of %ld slots", x->xa, node, c, x->nslots);
		return;
	}
	l->node = node;
	l->base = base;
	l->shift = (unsigned int)s;
	l->slot = 0;
	x->sp++;
}

/* The entry in slot @i of the node at the top of the stack. */
static void xa_slot(struct xa_walk *x, long i)
{
	struct xa_level *l = &x->lv[x->sp - 1];
	uint64_t entry, index;

	entry = kpm_get(l->buf, x->m[XN_SLOTS].off + i * x->ps, x->ps);
	if (!entry)
		return;
	if (l->shift && (uint64_t)i >> (x->bits - l->shift)) {
		werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": slot %ld beyond the index space",
		     x->xa, l->node, i);
		return;
	}
	index = l->base + ((uint64_t)i << l->shift);
	if (!xa_is_internal(entry)) {
		xa_emit(x, index, entry);
	} else if (xa_is_node(entry)) {
		if (!l->shift)
			werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": slot %ld: node entry %#"
			     PRIx64 " in a leaf node", x->xa, l->node, i, entry);
		else
			xa_push(x, entry - XA_INTERNAL_TAG, l->node, i,
				(long)l->shift - x->chunk_shift, index);
	} else if (entry < XA_MK_INTERNAL(x->nslots - 1)) {
		/* a sibling: names the earlier slot of its canonical entry */
		if ((long)(entry >> 2) >= i)
			werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": slot %ld: sibling entry %#"
			     PRIx64 " names a later slot", x->xa, l->node, i, entry);
	} else if (entry != XA_RETRY_ENTRY && entry != XA_ZERO_ENTRY) {
		werr(&x->e, "xarray at %#" PRIx64 ": node %#" PRIx64 ": slot %ld: unknown internal entry %#"
		     PRIx64, x->xa, l->node, i, entry);
	}
}

long kpm_xa_walk(struct kpm_target *t, uint64_t xa, long max, kpm_xa_fn fn, void *arg)
{
	struct xa_walk x;
	char w[KPM_ERRLEN];
	uint64_t head;
	long i;

	memset(&x, 0, sizeof(x));
	x.t = t;
	x.xa = xa;
	x.max = max;
	x.fn = fn;
	x.arg = arg;
	if (resolve(t, x.m, xa_tab, NR_XA))
		return -1;
	if ((x.nsize = node_size(t, "xa_node", x.m, XN_SHIFT, NR_XA)) < 0)
		return -1;
	x.ps = kpm_ptr_size(t);
	x.bits = 8 * x.ps;
	x.nslots = x.m[XN_SLOTS].size / x.ps;
	for (x.chunk_shift = 1; x.chunk_shift < 8 && (1L << x.chunk_shift) < x.nslots; x.chunk_shift++)
		;
	if (x.nslots < 2 || x.nslots != 1L << x.chunk_shift) {
		kpm_errf(t, "xa_node.slots: %ld slots of %ld bytes from debug info, not 2^n (n 1..8)",
			 x.nslots, x.ps);
		return -1;
	}
	/* shifts 0, chunk_shift, ... below bits: the root's and every level under it */
	x.depth = (x.bits + x.chunk_shift - 1) / x.chunk_shift;
	if (kpm_read_member(t, xa, &x.m[XA_HEAD], &head)) {
		kpm_errf(t, "xarray at %#" PRIx64 ": %s", xa, why(t, w));
		return -1;
	}
	if (!head)
		return 0;
	if (!xa_is_internal(head)) {
		/* a single entry at index 0 */
		xa_emit(&x, 0, head);
		return x.fn_failed ? -1 : wdone(t, &x.e, x.n);
	}
	if (!xa_is_node(head)) {
		if (head != XA_ZERO_ENTRY && head != XA_RETRY_ENTRY) {
			kpm_errf(t, "xarray at %#" PRIx64 ": xa_head %#" PRIx64 " is an unknown internal entry",
				 xa, head);
			return -1;
		}
		return 0;
	}
	x.lv = calloc(x.depth, sizeof(*x.lv));
	if (x.lv)
		x.lv[0].buf = malloc(x.depth * x.nsize);
	if (!x.lv || !x.lv[0].buf) {
		free(x.lv);
		kpm_errf(t, "xarray at %#" PRIx64 ": out of memory", xa);
		return -1;
	}
	for (i = 1; i < x.depth; i++)
		x.lv[i].buf = x.lv[0].buf + i * x.nsize;
	xa_push(&x, head - XA_INTERNAL_TAG, 0, 0, -1, 0);
	while (x.sp && !x.stop) {
		struct xa_level *l = &x.lv[x.sp - 1];

		if (l->slot == x.nslots) {
			x.sp--;
			continue;
		}
		xa_slot(&x, l->slot++);
	}
	free(x.lv[0].buf);
	free(x.lv);
	return x.fn_failed ? -1 : wdone(t, &x.e, x.n);
}

/* IDRs: an XArray (idr_rt, a radix_tree_root, which is a struct xarray since v4.20). */

struct idr_arg {
	uint64_t base;
	kpm_xa_fn fn;
	void *arg;
};

static int idr_entry(struct kpm_target *t, uint64_t index, uint64_t entry, void *arg)
{
	struct idr_arg *a = arg;

	return a->fn ? a->fn(t, index + a->base, entry, a->arg) : 0;
}

long kpm_idr_walk(struct kpm_target *t, uint64_t idr, long max, kpm_xa_fn fn, void *arg)
{
	struct kpm_member m[NR_XA_IDR + 1];
	struct idr_arg a = { 0, fn, arg };
	char w[KPM_ERRLEN];

	if (resolve(t, m, xa_tab, NR_XA_IDR))
		return -1;
	if (kpm_has(&m[IDR_BASE]) && kpm_read_member(t, idr, &m[IDR_BASE], &a.base)) {
		kpm_errf(t, "idr at %#" PRIx64 ": %s", idr, why(t, w));
		return -1;
	}
	return kpm_xa_walk(t, idr + m[IDR_RT].off, max, idr_entry, &a);
}
