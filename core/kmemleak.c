// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder: kmemleak objects, read from kmemleak's own bookkeeping.
 *
 * Every allocation kmemleak tracks has a struct kmemleak_object on
 * object_list and in one of the search trees: object_tree_root (virtual
 * addresses), object_phys_tree_root (physical, v6.0+) and
 * object_percpu_tree_root (__percpu pointers, v6.8+ or the backport of
 * 39042079a0c2).  The object records the allocation's pointer and size,
 * its colour (count/min_count), the checksum of its contents as of the
 * last scan, its creation jiffies, pid and comm, and a stack depot handle
 * for the allocation backtrace.
 *
 * The decoder walks object_list (bounded, cycle-checked), counts the
 * trees, recomputes each object's checksum from the dump with the
 * kernel's crc32_le (for per-CPU objects over every possible CPU, chained
 * as after 79c37ae3733e or xor-folded as 6c99d4eb7c5e did; which one this
 * kernel uses is decided by which matches the stored checksums), and
 * symbolizes the backtrace from the stack depot (stack_slabs in 6.1,
 * stack_pools in 6.12).
 */
#define _GNU_SOURCE	/* qsort_r */
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"
#include "kernel.h"

/* Object flags are #defines in mm/kmemleak.c, not in debug info.  They
 * have only been added to, never renumbered; OBJECT_PHYS and
 * OBJECT_PERCPU exist when their trees do. */
#define OBJECT_ALLOCATED	(1u << 0)
#define OBJECT_REPORTED		(1u << 1)
#define OBJECT_NO_SCAN		(1u << 2)
#define OBJECT_FULL_SCAN	(1u << 3)
#define OBJECT_PHYS		(1u << 4)
#define OBJECT_PERCPU		(1u << 5)
static const char *const flag_names[] = {
	"ALLOCATED", "REPORTED", "NO_SCAN", "FULL_SCAN", "PHYS", "PERCPU",
};
#define NR_FLAG_NAMES		(sizeof(flag_names) / sizeof(flag_names[0]))
#define KMEMLEAK_BLACK		-1	/* min_count of an ignored object */
/* DEPOT_STACK_ALIGN / STACK_ALLOC_ALIGN: handle offsets are in 16 bytes. */
#define DEPOT_STACK_ALIGN	4
#define HEX_BYTES		32	/* HEX_MAX_LINES * HEX_ROW_SIZE */
#define MAX_OBJECTS		(16L << 20)
#define MAX_FRAMES		64
#define TOP_LEAKERS		5
#define TRIAGE_GROUPS		10	/* leak groups listed by triage */
#define TRIAGE_OBJECTS		3	/* objects listed per group */

/* What to print (from the command's options). */
#define KPM_KML_PERCPU	0x01	/* -p: per-CPU objects only */
#define KPM_KML_LEAKS	0x02	/* -l: reported (and still unreferenced) objects only */
#define KPM_KML_COMM	0x04	/* -c */
#define KPM_KML_MINSIZE	0x08	/* -s */
#define KPM_KML_ADDR	0x10	/* -a */
#define KPM_KML_HEX	0x20	/* -x: hex dump of the first bytes (per CPU) */
#define KPM_KML_JSON	0x40	/* -j */
#define KPM_KML_SUMMARY	0x80	/* -S: summary only */

struct kpm_kmemleak_filter {
	unsigned int flags;
	const char *comm;
	uint64_t min_size;
	uint64_t addr;
};

enum {
	KO_FLAGS, KO_OBJECT_LIST, KO_RB_NODE, KO_POINTER, KO_SIZE, KO_MIN_COUNT,
	KO_COUNT, KO_CHECKSUM, KO_TRACE_HANDLE, KO_JIFFIES, KO_PID, KO_COMM,
	KO_DEL_STATE, KO_EXCESS_REF,
	LH_NEXT, LH_PREV,
	SR_SIZE, SR_HANDLE, SR_ENTRIES,
	NR_KML
};

static const struct kpm_member kml_tab[NR_KML + 1] = {
	[KO_FLAGS] = KPM_MEMBER("kmemleak_object", flags),
	[KO_OBJECT_LIST] = KPM_MEMBER("kmemleak_object", object_list),
	[KO_RB_NODE] = KPM_MEMBER("kmemleak_object", rb_node),
	[KO_POINTER] = KPM_MEMBER("kmemleak_object", pointer),
	[KO_SIZE] = KPM_MEMBER("kmemleak_object", size),
	[KO_MIN_COUNT] = KPM_MEMBER("kmemleak_object", min_count),
	[KO_COUNT] = KPM_MEMBER("kmemleak_object", count),
	[KO_CHECKSUM] = KPM_MEMBER("kmemleak_object", checksum),
	[KO_TRACE_HANDLE] = KPM_MEMBER_OPT("kmemleak_object", trace_handle),
	[KO_JIFFIES] = KPM_MEMBER("kmemleak_object", jiffies),
	[KO_PID] = KPM_MEMBER("kmemleak_object", pid),
	[KO_COMM] = KPM_MEMBER("kmemleak_object", comm),
	[KO_DEL_STATE] = KPM_MEMBER_OPT("kmemleak_object", del_state),
	[KO_EXCESS_REF] = KPM_MEMBER_OPT("kmemleak_object", excess_ref),
	[LH_NEXT] = KPM_MEMBER("list_head", next),
	[LH_PREV] = KPM_MEMBER("list_head", prev),
	[SR_SIZE] = KPM_MEMBER_OPT("stack_record", size),
	[SR_HANDLE] = KPM_MEMBER_OPT("stack_record", handle),
	[SR_ENTRIES] = KPM_MEMBER_OPT("stack_record", entries),
	[NR_KML] = { NULL },
};

struct trace {
	uint32_t handle;
	int nframes;		/* -1: could not be read */
	struct kpm_frame *frames;
	char err[KPM_ERRLEN];
	/* the frames as the report prints them, rendered once per record */
	char *text, *json;
	struct trace *next;	/* hash chain */
};

/* struct rb_node: __rb_parent_color, rb_right, rb_left */
#define RB_BYTES	24

struct kobj {
	uint64_t addr;
	uint64_t pointer, size, jiffies;
	unsigned int flags, del_state;
	int count, min_count, pid;
	uint32_t checksum, trace_handle;
	char comm[24];
	int ok;
	char *err;		/* why it could not be read (malloc'd) */
	unsigned char rb[RB_BYTES];	/* its struct rb_node, as read */
};

struct kml_ctx {
	struct kpm_target *t;
	struct kpm_member m[NR_KML + 1];
	long sz_object;
	int has_phys, has_percpu;
	uint64_t sym_object_list, trees[3];
	long tree_count[3];
	char tree_err[3][KPM_ERRLEN];
	long *byaddr;		/* indices of o[], by object address (NULL: no memory) */
	long ocap, npeeked;	/* o[] allocated, and read by the list walk (peek_object()) */
	unsigned char *peekbuf;
	uint64_t jiffies, hz;			/* 0: unknown */
	uint64_t jiffies_min_age, jiffies_last_scan;
	int have_scan;		/* jiffies_min_age and jiffies_last_scan were read */
	char scan_err[KPM_ERRLEN];
	/* stack depot */
	int depot;		/* 0: none, 1: stack_slabs (<=6.7), 2: stack_pools */
	uint64_t depot_array;
	struct kpm_member h_index, h_offset;	/* union handle_parts fields */
	struct trace *trace_hash[1024];
	/* possible CPUs, for per-CPU objects */
	const int *cpus;
	long ncpus;
	const uint64_t *cpu_off;
	char cpus_err[KPM_ERRLEN];
	/* per-CPU checksum: chained crc32 (79c37ae3733e) or xor (6c99d4eb7c5e) */
	int percpu_chained;
	/* objects */
	struct kobj *o;
	long n;
	char walk_err[KPM_ERRLEN];
};

#define M(x, i) (&(x)->m[i])

static const char *const tree_syms[3] = {
	"object_tree_root", "object_phys_tree_root", "object_percpu_tree_root",
};

/*
 * The kernel's crc32_le(): reflected CRC-32, no pre/post inversion, eight
 * bytes a step (slicing-by-8: table k holds the CRC of a byte followed by k
 * zero bytes).  Every allocated object's contents are checksummed.
 */
static uint32_t crc_table[8][256];

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	if (crc_table[0][1])
		return;
	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_table[k][i] = crc_table[0][crc_table[k - 1][i] & 0xff] ^
					  (crc_table[k - 1][i] >> 8);
}

static uint32_t crc32_le(uint32_t crc, const unsigned char *p, size_t len)
{
	uint32_t lo, hi;

	for (; len >= 8; len -= 8, p += 8) {
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			    (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		     (uint32_t)p[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* One field of a stack depot handle, extracted as from the union's bytes. */
static uint64_t handle_part(uint32_t handle, const struct kpm_member *m)
{
	unsigned char b[4] = { handle, handle >> 8, handle >> 16, handle >> 24 };

	return kpm_field(b, m);
}

/* The first of @names that union handle_parts has in this kernel. */
static int resolve_part(struct kml_ctx *x, const char *const *names, struct kpm_member *m)
{
	for (; *names; names++) {
		m->type = "union handle_parts";
		m->name = *names;
		if (kpm_resolve_one(x->t, m) == 0 && (m->bit_size || m->size > 0))
			return 0;
	}
	return -1;
}

static void init_depot(struct kml_ctx *x)
{
	static const char *const idx6_1[] = { "slabindex", NULL };
	static const char *const idx6_8[] = { "pool_index_plus_1", "pool_index", NULL };
	static const char *const off[] = { "offset", NULL };
	struct kpm_target *t = x->t;

	if (!kpm_has(M(x, KO_TRACE_HANDLE)) || !kpm_has(M(x, SR_ENTRIES)))
		return;
	if (resolve_part(x, off, &x->h_offset))
		return;
	if (t->ops->symbol(t, "stack_slabs", &x->depot_array) == 0 &&
	    resolve_part(x, idx6_1, &x->h_index) == 0)
		x->depot = 1;
	else if (t->ops->symbol(t, "stack_pools", &x->depot_array) == 0 &&
		 resolve_part(x, idx6_8, &x->h_index) == 0)
		x->depot = 2;
}

static void free_traces(struct kml_ctx *x);

static void kml_free(struct kml_ctx *x)
{
	long i;

	for (i = 0; x->o && i < x->n; i++)
		free(x->o[i].err);
	free(x->o);
	free(x->byaddr);
	free_traces(x);
}

static int kml_init(struct kml_ctx *x, struct kpm_target *t)
{
	uint64_t tick_nsec;
	int i;

	memset(x, 0, sizeof(*x));
	x->t = t;
	crc_init();
	memcpy(x->m, kml_tab, sizeof(kml_tab));
	if (kpm_resolve(t, x->m))
		return -1;
	x->sz_object = t->ops->type_size(t, "kmemleak_object");
	if (x->sz_object <= 0) {
		kpm_errf(t, "this kernel's debug info has no struct kmemleak_object (CONFIG_DEBUG_KMEMLEAK off?)");
		return -1;
	}
	if (t->ops->symbol(t, "object_list", &x->sym_object_list)) {
		kpm_errf(t, "no symbol object_list: kmemleak is not built in (CONFIG_DEBUG_KMEMLEAK)");
		return -1;
	}
	for (i = 0; i < 3; i++)
		if (t->ops->symbol(t, tree_syms[i], &x->trees[i]))
			x->trees[i] = 0;
	x->has_phys = x->trees[1] != 0;
	x->has_percpu = x->trees[2] != 0;
	if (kpm_symbol_u64(t, "jiffies", &x->jiffies))
		x->jiffies = 0;		/* unknown: ages are not printed */
	/*
	 * Unknown is not zero: without the last scan's time a leak cannot be
	 * told "still unreferenced" from "reported once"; the summary says so.
	 */
	if (kpm_symbol_u64(t, "jiffies_min_age", &x->jiffies_min_age) ||
	    kpm_symbol_u64(t, "jiffies_last_scan", &x->jiffies_last_scan))
		snprintf(x->scan_err, sizeof(x->scan_err), "%s", t->err);
	else
		x->have_scan = 1;
	/* TICK_NSEC = (NSEC_PER_SEC + HZ/2) / HZ; ntp only nudges it. */
	if (kpm_symbol_u64(t, "tick_nsec", &tick_nsec) == 0 && tick_nsec)
		x->hz = (1000000000ULL + tick_nsec / 2) / tick_nsec;
	init_depot(x);
	x->ncpus = kpm_possible_cpus(t, &x->cpus, &x->cpu_off);
	if (x->ncpus < 0) {
		snprintf(x->cpus_err, sizeof(x->cpus_err), "%s", t->err);
		x->ncpus = 0;
	}
	t->err[0] = 0;
	return 0;
}

/* object_list */

struct walk {
	struct kml_ctx *x;
	uint64_t *addrs;
	long n, max;
};

static int walk_node(struct kpm_target *t, uint64_t node, void *arg)
{
	struct walk *w = arg;

	if (w->n == w->max) {
		long cap = w->max ? 2 * w->max : 65536;
		uint64_t *n = realloc(w->addrs, cap * sizeof(*n));

		if (!n) {
			kpm_errf(t, "out of memory");
			return -1;
		}
		w->addrs = n;
		w->max = cap;
	}
	w->addrs[w->n++] = node - M(w->x, KO_OBJECT_LIST)->off;
	return 0;
}

static void read_object(struct kml_ctx *x, unsigned char *buf, struct kobj *o);

/*
 * Read each object as the list walk reaches it (x->o[i], x->npeeked of
 * them): its page is then in the block cache; by the time the walk's
 * visits come, a million objects later, it is not.
 */
static void peek_object(struct kpm_target *t, uint64_t node, long i, void *arg)
{
	struct kml_ctx *x = arg;

	if (x->npeeked != i || !x->peekbuf)
		return;
	if (i == x->ocap) {
		long cap = x->ocap ? 2 * x->ocap : 256;
		struct kobj *o = realloc(x->o, cap * sizeof(*o));

		if (!o)
			return;
		x->o = o;
		x->ocap = cap;
	}
	memset(&x->o[i], 0, sizeof(x->o[i]));
	x->o[i].addr = node - M(x, KO_OBJECT_LIST)->off;
	read_object(x, x->peekbuf, &x->o[i]);
	x->npeeked++;
}

/*
 * Every object on object_list (*out, malloc'd); a walk cut short says why
 * in walk_err.  With @peek, the objects are read on the way (peek_object()).
 */
static long walk_list(struct kml_ctx *x, uint64_t **out, int peek)
{
	struct walk w = { x, NULL, 0, 0 };

	if (peek)
		x->peekbuf = malloc(x->sz_object);
	if (kpm_list_walk_peek(x->t, x->sym_object_list, M(x, LH_NEXT)->off, M(x, LH_PREV)->off,
			       MAX_OBJECTS, walk_node, &w, peek ? peek_object : NULL, x) < 0)
		snprintf(x->walk_err, sizeof(x->walk_err), "%s", x->t->err);
	free(x->peekbuf);
	x->peekbuf = NULL;
	if (!w.addrs)
		w.addrs = malloc(sizeof(*w.addrs));
	if (!w.addrs) {
		kpm_errf(x->t, "out of memory");
		return -1;
	}
	*out = w.addrs;
	return w.n;
}

static long kml_objects(struct kpm_target *t, uint64_t parent, uint64_t *objs, long max)
{
	struct kml_ctx x;
	uint64_t *addrs;
	long n, i;

	if (kml_init(&x, t))
		return -1;
	n = walk_list(&x, &addrs, 0);
	if (n >= 0) {
		for (i = 0; i < n && i < max; i++)
			objs[i] = addrs[i];
		free(addrs);
		if (x.walk_err[0])
			kpm_errf(t, "%s", x.walk_err);
	}
	kml_free(&x);
	return n;
}

static void read_object(struct kml_ctx *x, unsigned char *buf, struct kobj *o)
{
	struct kpm_target *t = x->t;
	long clen;

	if (kpm_read(t, o->addr, buf, x->sz_object, "struct kmemleak_object")) {
		o->err = strdup(t->err);
		return;
	}
	o->flags = kpm_field(buf, M(x, KO_FLAGS));
	o->pointer = kpm_field(buf, M(x, KO_POINTER));
	o->size = kpm_field(buf, M(x, KO_SIZE));
	o->min_count = (int)kpm_field(buf, M(x, KO_MIN_COUNT));
	o->count = (int)kpm_field(buf, M(x, KO_COUNT));
	o->checksum = kpm_field(buf, M(x, KO_CHECKSUM));
	o->trace_handle = kpm_field(buf, M(x, KO_TRACE_HANDLE));
	o->jiffies = kpm_field(buf, M(x, KO_JIFFIES));
	o->pid = (int)kpm_field(buf, M(x, KO_PID));
	o->del_state = kpm_field(buf, M(x, KO_DEL_STATE));
	clen = M(x, KO_COMM)->size < (long)sizeof(o->comm) ? M(x, KO_COMM)->size : (long)sizeof(o->comm) - 1;
	memcpy(o->comm, buf + M(x, KO_COMM)->off, clen);
	o->comm[clen] = 0;
	if (M(x, KO_RB_NODE)->size <= RB_BYTES)
		memcpy(o->rb, buf + M(x, KO_RB_NODE)->off, M(x, KO_RB_NODE)->size);
	o->ok = 1;
}

/*
 * The tree walk's nodes come from the objects the list walk read (sorted
 * by address in x->byaddr): a million rb_nodes read again in key order
 * would decompress the dump's pages again, in random order.  A node that
 * is no object on the list is read from the dump.
 */
static int node_src(void *arg, uint64_t node, void *buf, long size)
{
	struct kml_ctx *x = arg;
	uint64_t addr = node - M(x, KO_RB_NODE)->off;
	long lo = 0, hi = x->n;

	if (!x->byaddr || size != M(x, KO_RB_NODE)->size || size > RB_BYTES)
		return -1;
	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		const struct kobj *o = &x->o[x->byaddr[mid]];

		if (o->addr == addr) {
			if (!o->ok)
				return -1;
			memcpy(buf, o->rb, size);
			return 0;
		}
		if (o->addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Trees: count nodes (in order; the walk is bounded and loop-checked). */
static long count_tree(struct kml_ctx *x, uint64_t root, char *err)
{
	long n = kpm_rbtree_walk_src(x->t, root, MAX_OBJECTS, NULL, NULL, node_src, x);

	if (n < 0)
		snprintf(err, KPM_ERRLEN, "%s", x->t->err);
	return n;
}

struct lookup {
	struct kml_ctx *x;
	uint64_t addr;
};

static int cmp_object(struct kpm_target *t, uint64_t node, void *arg)
{
	struct lookup *l = arg;
	uint64_t obj = node - M(l->x, KO_RB_NODE)->off, ptr, size;

	if (kpm_read_member(t, obj, M(l->x, KO_POINTER), &ptr) ||
	    kpm_read_member(t, obj, M(l->x, KO_SIZE), &size))
		return -2;
	if (l->addr < ptr)
		return -1;
	return l->addr - ptr >= size ? 1 : 0;
}

/* The object whose block contains @addr, by the tree for its kind; 0 if none. */
static uint64_t lookup_tree(struct kml_ctx *x, uint64_t root, uint64_t addr)
{
	struct lookup l = { x, addr };
	uint64_t node;

	if (!root || kpm_rbtree_find(x->t, root, cmp_object, &l, &node) || !node)
		return 0;
	return node - M(x, KO_RB_NODE)->off;
}

/* Stack depot */

static struct trace *get_trace(struct kml_ctx *x, uint32_t handle)
{
	struct kpm_target *t = x->t;
	struct trace *tr;
	uint64_t index, offset, pool, rec, e, size, rec_handle;
	long psz = kpm_ptr_size(t);
	unsigned int h = (handle * 2654435761u) >> 22;
	int i;

	for (tr = x->trace_hash[h]; tr; tr = tr->next)
		if (tr->handle == handle)
			return tr;
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return NULL;
	tr->handle = handle;
	tr->nframes = -1;
	tr->next = x->trace_hash[h];
	x->trace_hash[h] = tr;

	if (!handle) {
		snprintf(tr->err, sizeof(tr->err), "no backtrace recorded");
		return tr;
	}
	if (!x->depot) {
		snprintf(tr->err, sizeof(tr->err), "stack depot layout not recognised");
		return tr;
	}
	index = handle_part(handle, &x->h_index);
	offset = handle_part(handle, &x->h_offset) << DEPOT_STACK_ALIGN;
	if (x->depot == 2) {
		if (!index) {
			snprintf(tr->err, sizeof(tr->err), "stack depot handle %#x: no pool", handle);
			return tr;
		}
		index--;	/* pool_index_plus_1 */
	}
	if (index > 65535 ||
	    kpm_read_ptr(t, x->depot_array + kpm_ptr_size(t) * index, &pool, "stack depot pool") ||
	    kpm_read_member(t, pool + offset, M(x, SR_SIZE), &size) ||
	    kpm_read_member(t, pool + offset, M(x, SR_HANDLE), &rec_handle)) {
		snprintf(tr->err, sizeof(tr->err), "stack depot handle %#x: %.200s", handle,
			 index > 65535 ? "index out of range" : t->err);
		return tr;
	}
	rec = pool + offset;
	if (rec_handle != handle || size > MAX_FRAMES) {
		snprintf(tr->err, sizeof(tr->err), "stack depot handle %#x: record at %#" PRIx64 " does not match (handle %#" PRIx64 ", %" PRIu64 " frames)",
			 handle, rec, rec_handle, size);
		return tr;
	}
	tr->frames = calloc(size ? size : 1, sizeof(*tr->frames));
	if (!tr->frames)
		return tr;
	for (i = 0; i < (int)size; i++) {
		if (kpm_read_ptr(t, rec + M(x, SR_ENTRIES)->off + psz * i, &e, "stack_record.entries")) {
			snprintf(tr->err, sizeof(tr->err), "%s", t->err);
			return tr;
		}
		kpm_symbolize(t, e, &tr->frames[i]);
	}
	tr->nframes = size;
	return tr;
}

static void free_traces(struct kml_ctx *x)
{
	struct trace *tr, *next;
	unsigned int i;

	for (i = 0; i < sizeof(x->trace_hash) / sizeof(x->trace_hash[0]); i++)
		for (tr = x->trace_hash[i]; tr; tr = next) {
			next = tr->next;
			free(tr->text);
			free(tr->json);
			free(tr->frames);
			free(tr);
		}
}

/* Checksums */

enum { CSUM_NA, CSUM_OK, CSUM_UNSET, CSUM_CHANGED, CSUM_UNREADABLE, CSUM_ERASED };

static const char *csum_text(int s)
{
	static const char *const txt[] = { "-", "ok", "unset", "changed", "unreadable",
					   "erased" };

	return txt[s];
}

/*
 * Recompute; for per-CPU objects both folds are computed.  *erased: bytes
 * of the contents that a filtered dump's makedumpfile erased (kpm_erased()).
 */
static int recompute(struct kml_ctx *x, struct kobj *o, uint32_t *chained, uint32_t *xored,
		     size_t *erased)
{
	struct kpm_target *t = x->t;
	unsigned char *buf;
	int i;

	*erased = 0;
	if (o->flags & OBJECT_PHYS || !(o->flags & OBJECT_ALLOCATED) || o->size > (64u << 20))
		return -1;
	buf = malloc(o->size ? o->size : 1);
	if (!buf)
		return -1;
	if (!(o->flags & OBJECT_PERCPU)) {
		if (kpm_read(t, o->pointer, buf, o->size, "object contents")) {
			free(buf);
			return -2;
		}
		*chained = *xored = crc32_le(0, buf, o->size);
		*erased = kpm_erased(t, buf, o->size);
		free(buf);
		return 0;
	}
	*chained = 0;
	*xored = 0;
	if (!x->ncpus) {
		free(buf);
		return -2;
	}
	for (i = 0; i < x->ncpus; i++) {
		if (kpm_read(t, o->pointer + x->cpu_off[i], buf, o->size, "per-CPU object contents")) {
			free(buf);
			return -2;
		}
		*chained = crc32_le(*chained, buf, o->size);
		*xored ^= crc32_le(0, buf, o->size);
		*erased += kpm_erased(t, buf, o->size);
	}
	free(buf);
	return 0;
}

/* *erased: bytes of the contents the dump's filter erased (kpm_erased()) */
static int csum_state(struct kml_ctx *x, struct kobj *o, uint32_t *value, size_t *erased)
{
	uint32_t chained, xored;
	int r = recompute(x, o, &chained, &xored, erased);

	if (r == -1)
		return CSUM_NA;
	if (r == -2)
		return CSUM_UNREADABLE;
	*value = (o->flags & OBJECT_PERCPU) && !x->percpu_chained ? xored : chained;
	if (*value == o->checksum)
		return CSUM_OK;
	/* never computed: ~0 since 79c37ae3733e, 0 before */
	if (o->checksum == 0xffffffffu)
		return CSUM_UNSET;
	/* the filter changed the contents, not the kernel */
	if (*erased)
		return CSUM_ERASED;
	return CSUM_CHANGED;
}

/* Decide the per-CPU fold from the objects whose stored checksum matches one. */
static void detect_percpu_fold(struct kml_ctx *x)
{
	long i, chained = 0, xored = 0;
	uint32_t c, xr;
	size_t erased;

	x->percpu_chained = 1;
	for (i = 0; i < x->n; i++) {
		struct kobj *o = &x->o[i];

		if (!o->ok || !(o->flags & OBJECT_PERCPU) || recompute(x, o, &c, &xr, &erased))
			continue;
		chained += c == o->checksum;
		xored += xr == o->checksum && c != xr;
		if (chained + xored > 64)
			break;
	}
	if (xored > chained)
		x->percpu_chained = 0;
}

static int white(const struct kobj *o)
{
	return o->count != KMEMLEAK_BLACK && o->count < o->min_count;
}

/* unreferenced_object(): white, allocated, and old enough at the last scan */
static int unreferenced(const struct kml_ctx *x, const struct kobj *o)
{
	if (!white(o) || !(o->flags & OBJECT_ALLOCATED))
		return 0;
	if (!x->have_scan)
		return 1;	/* the summary says the age test was not applied */
	return (int64_t)(o->jiffies + x->jiffies_min_age - x->jiffies_last_scan) <= 0;
}

/* What /sys/kernel/debug/kmemleak lists: reported, and still unreferenced. */
static int listed(const struct kml_ctx *x, const struct kobj *o)
{
	return (o->flags & OBJECT_REPORTED) && unreferenced(x, o);
}

static int selected(struct kml_ctx *x, const struct kobj *o, const struct kpm_kmemleak_filter *f)
{
	if (!o->ok)
		return !(f->flags & (KPM_KML_PERCPU | KPM_KML_LEAKS | KPM_KML_COMM | KPM_KML_MINSIZE | KPM_KML_ADDR));
	if ((f->flags & KPM_KML_PERCPU) && !(o->flags & OBJECT_PERCPU))
		return 0;
	if ((f->flags & KPM_KML_LEAKS) && !listed(x, o))
		return 0;
	if ((f->flags & KPM_KML_COMM) && strcmp(o->comm, f->comm))
		return 0;
	if ((f->flags & KPM_KML_MINSIZE) && o->size < f->min_size)
		return 0;
	return 1;
}

static void flags_text(unsigned int flags, char *buf, size_t len)
{
	kpm_flag_names(flags, flag_names, NR_FLAG_NAMES, "0", buf, len);
}

static const char *kind(const struct kobj *o)
{
	return o->flags & OBJECT_PERCPU ? "percpu" : o->flags & OBJECT_PHYS ? "phys" : "virtual";
}

static uint64_t age_ms(struct kml_ctx *x, const struct kobj *o)
{
	if (!x->hz || !x->jiffies)
		return 0;
	return (x->jiffies - o->jiffies) * 1000 / x->hz;
}

static void print_frames(FILE *fp, const struct trace *tr)
{
	char txt[256];
	int i;

	for (i = 0; i < tr->nframes; i++) {
		kpm_frame_text(&tr->frames[i], txt, sizeof(txt));
		fprintf(fp, "    [<%016" PRIx64 ">] %s\n", tr->frames[i].addr, txt);
	}
}

static void json_frames(struct kpm_json *j, const char *key, const struct trace *tr)
{
	int i;

	kpm_json_begin(j, key, '[');
	for (i = 0; i < tr->nframes; i++) {
		kpm_json_begin(j, NULL, '{');
		kpm_json_hex(j, "address", tr->frames[i].addr);
		kpm_json_str(j, "symbol", tr->frames[i].sym);
		kpm_json_u64(j, "offset", tr->frames[i].off);
		if (tr->frames[i].module)
			kpm_json_str(j, "module", tr->frames[i].module);
		kpm_json_end(j, '}');
	}
	kpm_json_end(j, ']');
}

/*
 * A record's frames in the report's text and JSON, rendered once: the
 * objects of one allocation site share a record, and a report of a
 * million objects would otherwise symbolize and format the same frames a
 * million times.  NULL when out of memory (the caller prints directly).
 */
static const char *trace_text(struct trace *tr)
{
	size_t len;
	FILE *ms;

	if (!tr->text && (ms = open_memstream(&tr->text, &len))) {
		print_frames(ms, tr);
		if (fclose(ms)) {
			free(tr->text);
			tr->text = NULL;
		}
	}
	return tr->text;
}

static const char *trace_json(struct trace *tr)
{
	struct kpm_json j;
	size_t len;
	FILE *ms;

	if (!tr->json && (ms = open_memstream(&tr->json, &len))) {
		kpm_json_open(&j, ms);
		json_frames(&j, NULL, tr);
		if (fclose(ms)) {
			free(tr->json);
			tr->json = NULL;
		}
	}
	return tr->json;
}

/* Bytes a filtered dump's makedumpfile erased are said to be, not shown as data. */
static void hex_rows(struct kpm_target *t, FILE *fp, const unsigned char *hex, size_t len)
{
	size_t erased = kpm_erased(t, hex, len);

	if (erased == len) {
		fprintf(fp, "    erased by the dump's filter (makedumpfile --config)\n");
		return;
	}
	kpm_hex_rows(fp, "    ", hex, len);
	if (erased)
		fprintf(fp, "    (%zu of these bytes are runs of 0x58: erased by the dump's filter)\n", erased);
}

static void print_object(struct kml_ctx *x, FILE *fp, struct kobj *o, unsigned int flags)
{
	struct kpm_target *t = x->t;
	char fl[96];
	uint32_t csum = 0;
	int cs, i;
	struct trace *tr;
	unsigned char hex[HEX_BYTES];
	size_t hlen, erased = 0;

	if (!o->ok) {
		fprintf(fp, "kmemleak_object %" PRIx64 ": %s\n", o->addr,
			o->err ? o->err : "out of memory");
		return;
	}
	flags_text(o->flags, fl, sizeof(fl));
	fprintf(fp, "%s object %#" PRIx64 " (size %" PRIu64 "):\n",
		listed(x, o) ? "unreferenced" : white(o) ? "white" : "referenced",
		o->pointer, o->size);
	fprintf(fp, "  comm \"%s\", pid %d, jiffies %" PRIu64, o->comm, o->pid, o->jiffies);
	if (x->hz && x->jiffies)
		fprintf(fp, " (age %" PRIu64 ".%03" PRIu64 "s)", age_ms(x, o) / 1000, age_ms(x, o) % 1000);
	fprintf(fp, "\n  kmemleak_object %" PRIx64 " %s flags %s count %d min_count %d\n",
		o->addr, kind(o), fl, o->count, o->min_count);
	cs = csum_state(x, o, &csum, &erased);
	if (cs == CSUM_NA || cs == CSUM_UNREADABLE) {
		fprintf(fp, "  checksum 0x%08x (recomputed: %s)\n", o->checksum,
			cs == CSUM_NA ? "not applicable" : "contents not in dump");
	} else {
		fprintf(fp, "  checksum 0x%08x recomputed 0x%08x%s: %s", o->checksum, csum,
			o->flags & OBJECT_PERCPU ? (x->percpu_chained ? " (chained over cpus)" : " (xor over cpus)") : "",
			csum_text(cs));
		if (erased)
			fprintf(fp, " (over %zu bytes erased by the dump's filter)", erased);
		fputc('\n', fp);
	}
	if (flags & KPM_KML_HEX && o->flags & OBJECT_ALLOCATED && !(o->flags & OBJECT_PHYS)) {
		hlen = o->size < HEX_BYTES ? o->size : HEX_BYTES;
		if (o->flags & OBJECT_PERCPU) {
			for (i = 0; i < x->ncpus; i++) {
				fprintf(fp, "  hex dump (first %zu bytes on cpu %d):\n", hlen, x->cpus[i]);
				if (kpm_read(t, o->pointer + x->cpu_off[i], hex, hlen, "per-CPU contents"))
					fprintf(fp, "    %s\n", t->err);
				else
					hex_rows(t, fp, hex, hlen);
			}
		} else {
			fprintf(fp, "  hex dump (first %zu bytes):\n", hlen);
			if (kpm_read(t, o->pointer, hex, hlen, "object contents"))
				fprintf(fp, "    %s\n", t->err);
			else
				hex_rows(t, fp, hex, hlen);
		}
	}
	tr = get_trace(x, o->trace_handle);
	fprintf(fp, "  backtrace (handle %#x):\n", o->trace_handle);
	if (!tr || tr->nframes < 0)
		fprintf(fp, "    %s\n", tr ? tr->err : "out of memory");
	else if (trace_text(tr))
		fputs(tr->text, fp);
	else
		print_frames(fp, tr);
}

static void json_object(struct kml_ctx *x, struct kpm_json *j, struct kobj *o, unsigned int flags)
{
	struct kpm_target *t = x->t;
	char fl[96];
	uint32_t csum = 0;
	int cs, i;
	struct trace *tr;
	unsigned char hex[HEX_BYTES];
	char hx[3 * HEX_BYTES + 1];
	size_t hlen, k, erased = 0;

	kpm_json_begin(j, NULL, '{');
	kpm_json_hex(j, "address", o->addr);
	if (!o->ok) {
		kpm_json_str(j, "error", o->err ? o->err : "out of memory");
		kpm_json_end(j, '}');
		return;
	}
	kpm_json_hex(j, "pointer", o->pointer);
	kpm_json_u64(j, "size", o->size);
	kpm_json_u64(j, "flags", o->flags);
	flags_text(o->flags, fl, sizeof(fl));
	kpm_json_str(j, "flag_names", fl);
	kpm_json_str(j, "kind", kind(o));
	kpm_json_i64(j, "count", o->count);
	kpm_json_i64(j, "min_count", o->min_count);
	kpm_json_u64(j, "checksum", o->checksum);
	cs = csum_state(x, o, &csum, &erased);
	if (cs != CSUM_NA && cs != CSUM_UNREADABLE)
		kpm_json_u64(j, "checksum_recomputed", csum);
	kpm_json_str(j, "checksum_state", csum_text(cs));
	if (erased)
		kpm_json_u64(j, "checksum_erased_bytes", erased);
	kpm_json_u64(j, "jiffies", o->jiffies);
	if (x->hz && x->jiffies)
		kpm_json_u64(j, "age_ms", age_ms(x, o));
	kpm_json_i64(j, "pid", o->pid);
	kpm_json_str(j, "comm", o->comm);
	kpm_json_u64(j, "trace_handle", o->trace_handle);
	tr = get_trace(x, o->trace_handle);
	if (tr && tr->nframes >= 0 && trace_json(tr)) {
		kpm_json_raw(j, "backtrace", tr->json);
	} else if (tr && tr->nframes >= 0) {
		json_frames(j, "backtrace", tr);
	} else if (tr) {
		kpm_json_str(j, "backtrace_error", tr->err);
	}
	if (flags & KPM_KML_HEX && o->flags & OBJECT_ALLOCATED && !(o->flags & OBJECT_PHYS)) {
		int n = o->flags & OBJECT_PERCPU ? x->ncpus : 1;

		hlen = o->size < HEX_BYTES ? o->size : HEX_BYTES;
		kpm_json_begin(j, "hexdump", '[');
		for (i = 0; i < n; i++) {
			uint64_t at = o->flags & OBJECT_PERCPU ? o->pointer + x->cpu_off[i] : o->pointer;

			kpm_json_begin(j, NULL, '{');
			if (o->flags & OBJECT_PERCPU)
				kpm_json_i64(j, "cpu", x->cpus[i]);
			if (kpm_read(t, at, hex, hlen, "object contents")) {
				kpm_json_str(j, "error", t->err);
			} else if ((k = kpm_erased(t, hex, hlen)) == hlen) {
				kpm_json_bool(j, "erased", 1);
			} else {
				if (k)
					kpm_json_u64(j, "erased_bytes", k);
				for (k = 0; k < hlen; k++)
					snprintf(hx + 2 * k, 3, "%02x", hex[k]);
				hx[2 * hlen] = 0;
				kpm_json_str(j, "bytes", hx);
			}
			kpm_json_end(j, '}');
		}
		kpm_json_end(j, ']');
	}
	kpm_json_end(j, '}');
}

struct leaker {
	uint32_t handle;
	uint64_t bytes;
	long objects;
};

static int cmp_leaker(const void *a, const void *b)
{
	const struct leaker *x = a, *y = b;

	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 :
	       (x->handle > y->handle) - (x->handle < y->handle);
}

static int cmp_handle(const void *a, const void *b)
{
	const struct leaker *x = a, *y = b;

	return (x->handle > y->handle) - (x->handle < y->handle);
}

/* Reported leaks grouped by allocation backtrace, most bytes first (*out, malloc'd). */
static long leak_groups(struct kml_ctx *x, struct leaker **out)
{
	struct leaker *all = calloc(x->n ? x->n : 1, sizeof(*all));
	long i, k, n = 0;

	*out = all;
	if (!all)
		return 0;
	for (i = 0; i < x->n; i++) {
		struct kobj *o = &x->o[i];

		if (!o->ok || !listed(x, o))
			continue;
		all[n].handle = o->trace_handle;
		all[n].bytes = o->size;
		all[n++].objects = 1;
	}
	/* sort by handle, fold runs of one handle, then sort by bytes */
	qsort(all, n, sizeof(*all), cmp_handle);
	for (i = 0, k = -1; i < n; i++) {
		if (k >= 0 && all[k].handle == all[i].handle) {
			all[k].bytes += all[i].bytes;
			all[k].objects++;
		} else {
			all[++k] = all[i];
		}
	}
	n = k + 1;
	qsort(all, n, sizeof(*all), cmp_leaker);
	return n;
}

static long top_leakers(struct kml_ctx *x, struct leaker *top, long max)
{
	struct leaker *all;
	long n = leak_groups(x, &all);

	if (n > max)
		n = max;
	if (all)
		memcpy(top, all, n * sizeof(*top));
	free(all);
	return n;
}

/* The caller of the allocator: the first frame outside the allocators. */
static const struct kpm_frame *leak_site(struct trace *tr)
{
	static const char *const alloc[] = {
		"kmalloc", "__kmalloc", "kmem_cache_alloc", "__kmem_cache_alloc", "kmalloc_trace",
		"__alloc_percpu", "pcpu_alloc", "__vmalloc", "vmalloc", "vzalloc", "kvmalloc",
		"__kvmalloc", "kmemleak_alloc", "slab_post_alloc_hook", "kmalloc_node",
		"__kmalloc_node", "kmalloc_large", "alloc_pages", "__get_free_pages", NULL,
	};
	int i, k;

	if (!tr || tr->nframes <= 0)
		return NULL;
	for (i = 0; i < tr->nframes; i++) {
		for (k = 0; alloc[k]; k++)
			if (!strncmp(tr->frames[i].sym, alloc[k], strlen(alloc[k])))
				break;
		if (!alloc[k])
			return &tr->frames[i];
	}
	return &tr->frames[0];
}

struct counts {
	long kind[3], listed[3];	/* virtual, phys, per-CPU */
	long unreferenced, again, freed, bad;
};

static int kind_index(const struct kobj *o)
{
	return o->flags & OBJECT_PERCPU ? 2 : o->flags & OBJECT_PHYS ? 1 : 0;
}

static void count_objects(struct kml_ctx *x, struct counts *c)
{
	long i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < x->n; i++) {
		struct kobj *o = &x->o[i];

		if (!o->ok) {
			c->bad++;
			continue;
		}
		c->kind[kind_index(o)]++;
		if (listed(x, o))
			c->listed[kind_index(o)]++;
		else if (o->flags & OBJECT_REPORTED)
			c->again++;
		c->unreferenced += unreferenced(x, o);
		c->freed += !(o->flags & OBJECT_ALLOCATED);
	}
}

static void print_summary(struct kml_ctx *x, FILE *fp)
{
	struct leaker top[TOP_LEAKERS];
	struct counts c;
	long i, k, ntop;

	count_objects(x, &c);
	fprintf(fp, "KMEMLEAK SUMMARY\n");
	fprintf(fp, "  object_list: %ld objects: %ld virtual, %ld phys, %ld per-CPU", x->n,
		c.kind[0], c.kind[1], c.kind[2]);
	if (c.freed)
		fprintf(fp, "; %ld freed, not yet removed", c.freed);
	if (c.bad)
		fprintf(fp, "; %ld unreadable", c.bad);
	fprintf(fp, "\n");
	fprintf(fp, "  trees:");
	for (k = 0; k < 3; k++) {
		if (!x->trees[k])
			continue;
		if (x->tree_count[k] >= 0)
			fprintf(fp, " %s %ld", tree_syms[k], x->tree_count[k]);
		else
			fprintf(fp, " %s (%s)", tree_syms[k], x->tree_err[k]);
	}
	fprintf(fp, "\n  reported leaks: %ld (%ld virtual, %ld phys, %ld per-CPU), as /sys/kernel/debug/kmemleak lists them\n",
		c.listed[0] + c.listed[1] + c.listed[2], c.listed[0], c.listed[1], c.listed[2]);
	fprintf(fp, "  unreferenced at the last scan: %ld; reported earlier but referenced again: %ld\n",
		c.unreferenced, c.again);
	if (x->walk_err[0])
		fprintf(fp, "  object_list walk stopped early: %s\n", x->walk_err);
	if (!x->have_scan)
		fprintf(fp, "  last scan time unknown (%s): leaks listed without kmemleak's age test\n",
			x->scan_err);
	if (x->cpus_err[0])
		fprintf(fp, "  possible CPUs unknown (%s): per-CPU checksums not recomputed\n", x->cpus_err);
	ntop = top_leakers(x, top, TOP_LEAKERS);
	if (ntop) {
		fprintf(fp, "  largest leakers (reported, by allocation backtrace):\n");
		fprintf(fp, "         BYTES  OBJECTS  HANDLE      ALLOCATED BY\n");
		for (i = 0; i < ntop; i++) {
			struct trace *tr = get_trace(x, top[i].handle);
			const struct kpm_frame *f = leak_site(tr);

			fprintf(fp, "    %10" PRIu64 "  %7ld  0x%08x  ", top[i].bytes, top[i].objects, top[i].handle);
			if (f && f->sym[0])
				fprintf(fp, "%s+%#" PRIx64 "%s%s%s\n", f->sym, f->off,
					f->module ? " [" : "", f->module ? f->module : "", f->module ? "]" : "");
			else if (f)
				fprintf(fp, "%#" PRIx64 "\n", f->addr);
			else
				fprintf(fp, "%s\n", tr && tr->err[0] ? tr->err : "?");
		}
	}
}

static void json_summary(struct kml_ctx *x, struct kpm_json *j)
{
	static const char *const kinds[3] = { "virtual", "phys", "percpu" };
	struct leaker top[TOP_LEAKERS];
	struct counts c;
	long i, k, ntop;

	count_objects(x, &c);
	kpm_json_begin(j, "summary", '{');
	kpm_json_i64(j, "objects", x->n);
	for (k = 0; k < 3; k++)
		kpm_json_i64(j, kinds[k], c.kind[k]);
	kpm_json_begin(j, "reported", '{');
	for (k = 0; k < 3; k++)
		kpm_json_i64(j, kinds[k], c.listed[k]);
	kpm_json_end(j, '}');
	kpm_json_begin(j, "trees", '{');
	for (k = 0; k < 3; k++)
		if (x->trees[k])
			kpm_json_i64(j, tree_syms[k], x->tree_count[k]);
	kpm_json_end(j, '}');
	if (x->hz)
		kpm_json_u64(j, "hz", x->hz);
	kpm_json_u64(j, "jiffies", x->jiffies);
	kpm_json_str(j, "percpu_checksum", x->percpu_chained ? "chained" : "xor");
	if (x->walk_err[0])
		kpm_json_str(j, "error", x->walk_err);
	if (!x->have_scan)
		kpm_json_str(j, "scan_error", x->scan_err);
	if (x->cpus_err[0])
		kpm_json_str(j, "cpus_error", x->cpus_err);
	ntop = top_leakers(x, top, TOP_LEAKERS);
	kpm_json_begin(j, "top_leakers", '[');
	for (i = 0; i < ntop; i++) {
		const struct kpm_frame *f = leak_site(get_trace(x, top[i].handle));

		kpm_json_begin(j, NULL, '{');
		kpm_json_u64(j, "trace_handle", top[i].handle);
		kpm_json_u64(j, "bytes", top[i].bytes);
		kpm_json_i64(j, "objects", top[i].objects);
		if (f && f->sym[0])
			kpm_json_str(j, "allocated_by", f->sym);
		else if (f)
			kpm_json_hex(j, "allocated_by_address", f->addr);
		kpm_json_end(j, '}');
	}
	kpm_json_end(j, ']');
	kpm_json_end(j, '}');
}

static int cmp_byaddr(const void *a, const void *b, void *ctx)
{
	const struct kobj *o = ((const struct kml_ctx *)ctx)->o;
	uint64_t x = o[*(const long *)a].addr, y = o[*(const long *)b].addr;

	return x < y ? -1 : x > y;
}

/* Read every object and count the trees: 0, or -1 with t->err (x freed). */
static int kml_decode(struct kml_ctx *x, struct kpm_target *t)
{
	uint64_t *addrs;
	unsigned char *buf;
	long i, n;
	int k, peeked;

	if (kml_init(x, t))
		return -1;
	n = walk_list(x, &addrs, 1);
	if (n < 0) {
		kml_free(x);
		return -1;
	}
	/* the walk's visits are the first n nodes its first pass reached */
	peeked = x->npeeked >= n;
	for (i = 0; peeked && i < n; i++)
		peeked = x->o[i].addr == addrs[i];
	/* a cycle's second time round, or all of it when the peek fell short */
	for (i = peeked ? n : 0; i < x->npeeked; i++) {
		free(x->o[i].err);
		memset(&x->o[i], 0, sizeof(x->o[i]));
	}
	if (!peeked || !x->o) {
		free(x->o);
		x->o = calloc(n ? n : 1, sizeof(*x->o));
		if (!x->o) {
			kpm_errf(t, "out of memory");
			free(addrs);
			kml_free(x);
			return -1;
		}
		for (i = 0; i < n; i++)
			x->o[i].addr = addrs[i];
	}
	free(addrs);
	x->n = n;
	x->byaddr = malloc((n ? n : 1) * sizeof(*x->byaddr));
	if (x->byaddr) {
		for (i = 0; i < n; i++)
			x->byaddr[i] = i;
		qsort_r(x->byaddr, n, sizeof(*x->byaddr), cmp_byaddr, x);
	}
	if (!peeked) {
		/*
		 * Read the objects in address order: list order revisits the
		 * pages the list walk left behind in an order no cache keeps.
		 */
		buf = malloc(x->sz_object);
		if (!buf) {
			kpm_errf(t, "out of memory");
			kml_free(x);
			return -1;
		}
		for (i = 0; i < n; i++)
			read_object(x, buf, &x->o[x->byaddr ? x->byaddr[i] : i]);
		free(buf);
	}
	for (k = 0; k < 3; k++)
		x->tree_count[k] = x->trees[k] ? count_tree(x, x->trees[k], x->tree_err[k]) : 0;
	detect_percpu_fold(x);
	t->err[0] = 0;
	return 0;
}

static long kml_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	struct kpm_kmemleak_filter ff = { 0 }, *f = &ff;
	struct kml_ctx x;
	struct kpm_json j;
	uint64_t want = 0;
	long i, shown = 0;
	int k;

	ff.flags |= kpm_opt_given(a, 'p') ? KPM_KML_PERCPU : 0;
	ff.flags |= kpm_opt_given(a, 'l') ? KPM_KML_LEAKS : 0;
	ff.flags |= kpm_opt_given(a, 'c') ? KPM_KML_COMM : 0;
	ff.flags |= kpm_opt_given(a, 's') ? KPM_KML_MINSIZE : 0;
	ff.flags |= kpm_opt_given(a, 'a') ? KPM_KML_ADDR : 0;
	ff.flags |= kpm_opt_given(a, 'x') ? KPM_KML_HEX : 0;
	ff.flags |= kpm_opt_given(a, 'j') ? KPM_KML_JSON : 0;
	ff.flags |= kpm_opt_given(a, 'S') ? KPM_KML_SUMMARY : 0;
	ff.comm = kpm_opt_str(a, 'c');
	ff.min_size = kpm_opt_num(a, 's');
	ff.addr = kpm_opt_num(a, 'a');

	if (kml_decode(&x, t))
		return -1;
	if (f->flags & KPM_KML_ADDR) {
		for (k = 0; k < 3 && !want; k++) {
			uint64_t addr = f->addr;

			/* a per-CPU address is the __percpu pointer plus a CPU's offset */
			if (k == 2)
				for (i = 0; i < x.ncpus && !want; i++)
					want = lookup_tree(&x, x.trees[2], addr - x.cpu_off[i]);
			if (!want)
				want = lookup_tree(&x, x.trees[k], addr);
		}
	}

	if (f->flags & KPM_KML_JSON) {
		kpm_json_open(&j, fp);
		kpm_json_begin(&j, NULL, '{');
		json_summary(&x, &j);
		kpm_json_begin(&j, "objects", '[');
	} else {
		print_summary(&x, fp);
		if (f->flags & KPM_KML_ADDR && !want)
			fprintf(fp, "\n  no kmemleak object contains %#" PRIx64 "\n", f->addr);
	}
	for (i = 0; i < x.n && !(f->flags & KPM_KML_SUMMARY); i++) {
		struct kobj *o = &x.o[i];

		if (!selected(&x, o, f) || ((f->flags & KPM_KML_ADDR) && o->addr != want))
			continue;
		shown++;
		if (f->flags & KPM_KML_JSON) {
			json_object(&x, &j, o, f->flags);
		} else {
			fputc('\n', fp);
			print_object(&x, fp, o, f->flags);
		}
	}
	if (f->flags & KPM_KML_JSON) {
		kpm_json_end(&j, ']');
		kpm_json_end(&j, '}');
		kpm_json_close(&j);
	}
	kml_free(&x);
	return shown;
}

static int kml_applies(struct kpm_target *t)
{
	uint64_t addr;

	if (t->ops->symbol(t, "object_list", &addr)) {
		kpm_errf(t, "no symbol object_list: kmemleak is not built in (CONFIG_DEBUG_KMEMLEAK)");
		return -1;
	}
	return 0;
}

/*
 * Triage: the reported leaks, grouped by allocation backtrace, most bytes
 * first; per group a few objects and the backtrace.
 */
static int kml_triage(struct kpm_target *t, struct kpm_triage *tr)
{
	struct kml_ctx x;
	struct leaker *groups;
	struct counts c;
	long ng, g, i, shown;
	char site[256], fl[96];

	if (kml_decode(&x, t))
		return -1;
	count_objects(&x, &c);
	kpm_tr_info(tr, "%ld objects: %ld virtual, %ld phys, %ld per-CPU; %ld reported leaks",
		    x.n, c.kind[0], c.kind[1], c.kind[2], c.listed[0] + c.listed[1] + c.listed[2]);
	if (x.walk_err[0])
		kpm_tr_partial(tr, "object_list walk stopped early: %s", x.walk_err);
	if (c.bad)
		kpm_tr_partial(tr, "%ld kmemleak objects unreadable", c.bad);
	if (!x.have_scan)
		kpm_tr_partial(tr, "last scan time (%s): leaks judged without the age test", x.scan_err);
	if (x.cpus_err[0])
		kpm_tr_partial(tr, "possible CPUs (%s)", x.cpus_err);
	ng = leak_groups(&x, &groups);
	for (g = 0; g < ng && g < TRIAGE_GROUPS; g++) {
		struct trace *trc = get_trace(&x, groups[g].handle);
		const struct kpm_frame *f = leak_site(trc);
		struct kpm_json *j;

		if (f)
			kpm_frame_text(f, site, sizeof(site));
		else
			snprintf(site, sizeof(site), "(%.200s)", trc && trc->err[0] ? trc->err : "no backtrace");
		kpm_tr_finding(tr, "leak: %" PRIu64 " bytes in %ld unreferenced object%s allocated by %s",
			       groups[g].bytes, groups[g].objects, groups[g].objects == 1 ? "" : "s", site);
		j = kpm_tr_data(tr);
		kpm_json_u64(j, "bytes", groups[g].bytes);
		kpm_json_i64(j, "objects", groups[g].objects);
		kpm_json_u64(j, "trace_handle", groups[g].handle);
		kpm_json_str(j, "allocated_by", site);
		kpm_json_begin(j, "pointers", '[');
		for (i = 0, shown = 0; i < x.n; i++) {
			struct kobj *o = &x.o[i];

			if (!o->ok || !listed(&x, o) || o->trace_handle != groups[g].handle)
				continue;
			if (shown < TRIAGE_OBJECTS) {
				flags_text(o->flags, fl, sizeof(fl));
				kpm_tr_detail(tr, "object %#" PRIx64 " (size %" PRIu64 ", %s) comm \"%s\" pid %d, kmemleak_object %" PRIx64,
					      o->pointer, o->size, kind(o), o->comm, o->pid, o->addr);
				if (kpm_tr_raw(tr) && !(o->flags & OBJECT_PHYS)) {
					unsigned char hex[HEX_BYTES];
					char hx[2 * HEX_BYTES + 1];
					size_t hlen = o->size < HEX_BYTES ? o->size : HEX_BYTES;
					uint64_t at = o->pointer + (o->flags & OBJECT_PERCPU && x.ncpus ? x.cpu_off[0] : 0);

					if (kpm_read(t, at, hex, hlen, "object contents") == 0) {
						kpm_hex_string(hex, hlen, hx);
						kpm_tr_detail(tr, "  first %zu bytes%s: %s", hlen,
							      o->flags & OBJECT_PERCPU ? " (first possible cpu)" : "", hx);
					}
				}
			}
			kpm_json_hex(j, NULL, o->pointer);
			shown++;
		}
		kpm_json_end(j, ']');
		if (shown > TRIAGE_OBJECTS)
			kpm_tr_detail(tr, "... and %ld more", shown - TRIAGE_OBJECTS);
		if (trc && trc->nframes > 0) {
			kpm_json_begin(j, "backtrace", '[');
			for (i = 0; i < trc->nframes; i++) {
				kpm_frame_text(&trc->frames[i], site, sizeof(site));
				kpm_tr_detail(tr, "%s %s", i ? "  " : "backtrace:", site);
				kpm_json_str(j, NULL, site);
			}
			kpm_json_end(j, ']');
		}
	}
	if (ng > TRIAGE_GROUPS) {
		uint64_t bytes = 0;
		long objects = 0;
		struct kpm_json *j;

		for (g = TRIAGE_GROUPS; g < ng; g++) {
			bytes += groups[g].bytes;
			objects += groups[g].objects;
		}
		kpm_tr_finding(tr, "leak: %" PRIu64 " bytes in %ld more unreferenced objects from %ld more allocation backtraces (kmemleak -l)",
			       bytes, objects, ng - TRIAGE_GROUPS);
		j = kpm_tr_data(tr);
		kpm_json_u64(j, "bytes", bytes);
		kpm_json_i64(j, "objects", objects);
		kpm_json_i64(j, "backtraces", ng - TRIAGE_GROUPS);
		kpm_json_begin(j, "pointers", '[');
		for (i = 0; i < x.n; i++) {
			struct kobj *o = &x.o[i];

			if (!o->ok || !listed(&x, o))
				continue;
			for (g = 0; g < TRIAGE_GROUPS && groups[g].handle != o->trace_handle; g++)
				;
			if (g == TRIAGE_GROUPS)
				kpm_json_hex(j, NULL, o->pointer);
		}
		kpm_json_end(j, ']');
	}
	free(groups);
	kml_free(&x);
	return 0;
}

static const struct kpm_objects kml_objs[] = {
	{ "object", "struct kmemleak_object *", NULL, kml_objects },
	{ 0 },
};

static const struct kpm_opt kml_opts[] = {
	{ 'p', KPM_OPT_FLAG, NULL, "per-CPU objects only" },
	{ 'l', KPM_OPT_FLAG, NULL, "reported leaks only" },
	{ 'c', KPM_OPT_STR, "comm", "objects allocated by this comm" },
	{ 's', KPM_OPT_NUM, "minsize", "objects of at least this many bytes" },
	{ 'a', KPM_OPT_ADDR, "address", "the object whose block contains this address" },
	{ 'x', KPM_OPT_FLAG, NULL, "hex dump of the first 32 bytes" },
	{ 'j', KPM_OPT_FLAG, NULL, "JSON output" },
	{ 'S', KPM_OPT_FLAG, NULL, "summary only" },
	{ 0 },
};

static const char *const kml_help[] = {
	"  Reads every struct kmemleak_object on kmemleak's object_list and counts",
	"  the search trees (object_tree_root, object_phys_tree_root and, where the",
	"  kernel tracks per-CPU allocations, object_percpu_tree_root).  Prints a",
	"  summary first: objects by kind, reported leaks, and the allocation",
	"  backtraces that leaked the most bytes; then each selected object the way",
	"  /sys/kernel/debug/kmemleak shows it, plus kmemleak's bookkeeping: flags,",
	"  count/min_count, the stored checksum and the checksum recomputed from the",
	"  dump with the kernel's crc32 (for a per-CPU object over every possible",
	"  CPU), and the allocation backtrace from the stack depot.",
	"",
	"    -p  per-CPU objects only (OBJECT_PERCPU).",
	"    -l  reported leaks only (OBJECT_REPORTED): what the kernel's own",
	"        kmemleak report listed.",
	"    -c  objects allocated by this comm.",
	"    -s  objects of at least this many bytes (decimal, or hex with 0x).",
	"    -a  the object whose memory block contains this address (hex; a",
	"        per-CPU address matches the object of its __percpu pointer).",
	"    -x  hex dump of the first 32 bytes, per CPU for per-CPU objects; in a",
	"        dump that makedumpfile filtered (docs/filter.md), bytes its erase",
	"        commands erased are said to be erased, and so is a checksum",
	"        recomputed over them.",
	"    -j  JSON; object keys are struct kmemleak_object's members.",
	"    -S  the summary only.",
	"\nEXAMPLE",
	"  The leaks the kmemleak-test module left, the per-CPU one with its bytes:",
	"",
	"    crash> kmemleak -l -p -x",
	"    KMEMLEAK SUMMARY",
	"      object_list: 18613 objects: 18377 virtual, 34 phys, 202 per-CPU",
	"      trees: object_tree_root 18377 object_phys_tree_root 34 object_percpu_tree_root 202",
	"      reported leaks: 14 (13 virtual, 0 phys, 1 per-CPU), as /sys/kernel/debug/kmemleak lists them",
	"      unreferenced at the last scan: 14; reported earlier but referenced again: 0",
	"      largest leakers (reported, by allocation backtrace):",
	"             BYTES  OBJECTS  HANDLE      ALLOCATED BY",
	"              4096        1  0x054d0020  0xffffffffc0160111",
	"              4096        1  0x05550020  0xffffffffc0160136",
	"              4096        1  0x057a0020  0xffffffffc016014f",
	"              4096        1  0x059f0020  0xffffffffc0160168",
	"              4096        1  0x05c40020  0xffffffffc0160181",
	"",
	"    unreferenced object 0x24434 (size 64):",
	"      comm \"insmod\", pid 43, jiffies 4294893316 (age 11.576s)",
	"      kmemleak_object ffff8b1982143a50 percpu flags ALLOCATED|REPORTED|PERCPU count 0 min_count 1",
	"      checksum 0x00000000 recomputed 0x00000000 (chained over cpus): ok",
	"      hex dump (first 32 bytes on cpu 0):",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"      hex dump (first 32 bytes on cpu 1):",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"      backtrace (handle 0x6260020):",
	"        [<ffffffffbbcc08a7>] pcpu_alloc+0x458",
	"        [<ffffffffbbcc0972>] __alloc_percpu+0x10",
	"        [<ffffffffc01602ab>] 0xffffffffc01602ab",
	"        [<ffffffffbbc00729>] do_one_initcall+0x7a",
	"        [<ffffffffbbc87d48>] do_init_module+0x4a",
	"        [<ffffffffbbc896a2>] load_module+0x1712",
	"        [<ffffffffbbc8999e>] __do_sys_finit_module+0xa4",
	"        [<ffffffffbbc899ea>] __x64_sys_finit_module+0x13",
	"        [<ffffffffbbc01e69>] x64_sys_call+0xbc2",
	"        [<ffffffffbbe6abec>] do_syscall_64+0x3d",
	"        [<ffffffffbc0000af>] entry_SYSCALL_64_after_hwframe+0x4b",
	NULL
};

KPM_DECODER(kmemleak_decoder) = {
	.name = "kmemleak",
	.summary = "kmemleak objects, leaks and per-CPU leaks, from kmemleak's own bookkeeping",
	.synopsis = "[-p] [-l] [-c comm] [-s minsize] [-a address] [-x] [-j] [-S]",
	.help = kml_help,
	.opts = kml_opts,
	.triage_order = 20,
	.applies = kml_applies,
	.report = kml_report,
	.triage = kml_triage,
	.objects = kml_objs,
};
