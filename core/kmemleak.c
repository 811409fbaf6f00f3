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
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kmemleak.h"

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
#define KMEMLEAK_BLACK		-1	/* min_count of an ignored object */
/* DEPOT_STACK_ALIGN / STACK_ALLOC_ALIGN: handle offsets are in 16 bytes. */
#define DEPOT_STACK_ALIGN	4
#define HEX_BYTES		32	/* HEX_MAX_LINES * HEX_ROW_SIZE */
#define MAX_OBJECTS		(16L << 20)
#define MAX_FRAMES		64
#define MAX_MODULES		1024
#define MAX_CPUS		8192
#define TREE_DEPTH		128
#define TOP_LEAKERS		5

enum {
	KO_FLAGS, KO_OBJECT_LIST, KO_RB_NODE, KO_POINTER, KO_SIZE, KO_MIN_COUNT,
	KO_COUNT, KO_CHECKSUM, KO_TRACE_HANDLE, KO_JIFFIES, KO_PID, KO_COMM,
	KO_DEL_STATE, KO_EXCESS_REF,
	LH_NEXT, RB_LEFT, RB_RIGHT, RR_NODE,
	SR_SIZE, SR_HANDLE, SR_ENTRIES,
	MOD_LIST, MOD_NAME, MOD_CORE_LAYOUT, MOD_MEM, ML_BASE, ML_SIZE,
	MM_BASE, MM_SIZE, CM_BITS,
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
	[RB_LEFT] = KPM_MEMBER("rb_node", rb_left),
	[RB_RIGHT] = KPM_MEMBER("rb_node", rb_right),
	[RR_NODE] = KPM_MEMBER("rb_root", rb_node),
	[SR_SIZE] = KPM_MEMBER_OPT("stack_record", size),
	[SR_HANDLE] = KPM_MEMBER_OPT("stack_record", handle),
	[SR_ENTRIES] = KPM_MEMBER_OPT("stack_record", entries),
	[MOD_LIST] = KPM_MEMBER_OPT("module", list),
	[MOD_NAME] = KPM_MEMBER_OPT("module", name),
	[MOD_CORE_LAYOUT] = KPM_MEMBER_OPT("module", core_layout),	/* < 6.4 */
	[MOD_MEM] = KPM_MEMBER_OPT("module", mem),			/* 6.4+ */
	[ML_BASE] = KPM_MEMBER_OPT("module_layout", base),
	[ML_SIZE] = KPM_MEMBER_OPT("module_layout", size),
	[MM_BASE] = KPM_MEMBER_OPT("module_memory", base),
	[MM_SIZE] = KPM_MEMBER_OPT("module_memory", size),
	[CM_BITS] = KPM_MEMBER("cpumask", bits),
	[NR_KML] = { NULL },
};

/* One field of the stack depot handle (union handle_parts). */
struct bits {
	long off, size;
};

struct frame {
	uint64_t addr;
	char sym[96];
	uint64_t off;
	const char *module;	/* points into the module table, or NULL */
};

struct trace {
	uint32_t handle;
	int nframes;		/* -1: could not be read */
	struct frame *frames;
	char err[KPM_ERRLEN];
	struct trace *next;	/* hash chain */
};

struct kobj {
	uint64_t addr;
	uint64_t pointer, size, jiffies;
	unsigned int flags, del_state;
	int count, min_count, pid;
	uint32_t checksum, trace_handle;
	char comm[32];
	int ok;
	char err[KPM_ERRLEN];
};

struct module_range {
	uint64_t base, size;
	char name[64];
};

struct kml_ctx {
	struct kpm_target *t;
	struct kpm_member m[NR_KML + 1];
	long sz_object;
	int has_phys, has_percpu;
	uint64_t sym_object_list, trees[3];
	long tree_count[3];
	char tree_err[3][KPM_ERRLEN];
	uint64_t jiffies, hz;
	uint64_t jiffies_min_age, jiffies_last_scan;	/* 0: unknown */
	/* stack depot */
	int depot;		/* 0: none, 1: stack_slabs (<=6.7), 2: stack_pools */
	uint64_t depot_array;
	struct bits h_index, h_offset;
	struct trace *trace_hash[1024];
	/* modules, and the kernel image: what %pS can name */
	struct module_range *mods;
	int nmods;
	uint64_t stext, end;
	/* CPUs */
	int *cpus;
	int ncpus;
	uint64_t *cpu_off;
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

/* The kernel's crc32_le(): reflected CRC-32, no pre/post inversion. */
static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	if (crc_table[1])
		return;
	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_le(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

static uint64_t get_bits(uint32_t v, const struct bits *b)
{
	return (v >> b->off) & (b->size >= 32 ? 0xffffffffu : ((1u << b->size) - 1));
}

static int resolve_bits(struct kml_ctx *x, const char *const *names, struct bits *b)
{
	for (; *names; names++)
		if (x->t->ops->member_bits(x->t, "union handle_parts", *names, &b->off, &b->size) == 0 &&
		    b->size > 0)
			return 0;
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
	if (resolve_bits(x, off, &x->h_offset))
		return;
	if (t->ops->symbol(t, "stack_slabs", &x->depot_array) == 0 &&
	    resolve_bits(x, idx6_1, &x->h_index) == 0)
		x->depot = 1;
	else if (t->ops->symbol(t, "stack_pools", &x->depot_array) == 0 &&
		 resolve_bits(x, idx6_8, &x->h_index) == 0)
		x->depot = 2;
}

/* One module's name and text range (6.4+: mem[MOD_TEXT], the first). */
static int module_node(struct kpm_target *t, uint64_t node, void *arg)
{
	struct kml_ctx *x = arg;
	struct module_range *r = &x->mods[x->nmods];
	uint64_t mod = node - M(x, MOD_LIST)->off;
	uint64_t range = kpm_has(M(x, MOD_MEM)) ? mod + M(x, MOD_MEM)->off
						 : mod + M(x, MOD_CORE_LAYOUT)->off;
	int mem = kpm_has(M(x, MOD_MEM));

	if (x->nmods >= MAX_MODULES ||
	    kpm_read(t, mod + M(x, MOD_NAME)->off, r->name, sizeof(r->name) - 1, "module.name") ||
	    kpm_read_member(t, range, M(x, mem ? MM_BASE : ML_BASE), &r->base) ||
	    kpm_read_member(t, range, M(x, mem ? MM_SIZE : ML_SIZE), &r->size))
		return -1;
	x->nmods++;
	return 0;
}

static void init_modules(struct kml_ctx *x)
{
	struct kpm_target *t = x->t;
	uint64_t head;

	if (!kpm_has(M(x, MOD_LIST)) || !kpm_has(M(x, MOD_NAME)) ||
	    t->ops->symbol(t, "modules", &head))
		return;
	if (kpm_has(M(x, MOD_MEM)) ? !kpm_has(M(x, MM_BASE))
				   : !kpm_has(M(x, MOD_CORE_LAYOUT)) || !kpm_has(M(x, ML_BASE)))
		return;
	x->mods = calloc(MAX_MODULES, sizeof(*x->mods));
	if (x->mods)	/* what was read before a bad entry still names frames */
		kpm_list_walk(t, head, M(x, LH_NEXT)->off, MAX_MODULES, module_node, x);
}

static const char *module_of(struct kml_ctx *x, uint64_t addr);

/*
 * Whether a backtrace address can be named: inside the kernel image or a
 * loaded module's core.  Anything else (a module's freed __init text, say)
 * the kernel itself prints as a bare address, and so does kpm, rather than
 * naming it after whatever symbol happens to precede it.
 */
static int nameable(struct kml_ctx *x, uint64_t addr)
{
	if (x->stext && x->end && addr >= x->stext && addr < x->end)
		return 1;
	return module_of(x, addr) != NULL;
}

static const char *module_of(struct kml_ctx *x, uint64_t addr)
{
	int i;

	for (i = 0; i < x->nmods; i++)
		if (addr >= x->mods[i].base && addr < x->mods[i].base + x->mods[i].size)
			return x->mods[i].name;
	return NULL;
}

static void init_cpus(struct kml_ctx *x)
{
	struct kpm_target *t = x->t;
	uint64_t mask, nr = 0;
	uint32_t nr32;
	unsigned char *bits;
	long len, cpu;

	if (t->ops->symbol(t, "__cpu_possible_mask", &mask) ||
	    t->ops->symbol(t, "nr_cpu_ids", &nr) ||
	    kpm_read_u32(t, nr, &nr32, "nr_cpu_ids"))
		return;
	nr = nr32 > MAX_CPUS ? MAX_CPUS : nr32;
	len = M(x, CM_BITS)->size;
	bits = malloc(len);
	x->cpus = calloc(nr ? nr : 1, sizeof(*x->cpus));
	x->cpu_off = calloc(nr ? nr : 1, sizeof(*x->cpu_off));
	if (!bits || !x->cpus || !x->cpu_off ||
	    kpm_read(t, mask + M(x, CM_BITS)->off, bits, len, "__cpu_possible_mask")) {
		free(bits);
		return;
	}
	for (cpu = 0; cpu < (long)nr && cpu / 8 < len; cpu++)
		if ((bits[cpu / 8] >> (cpu % 8)) & 1 &&
		    t->ops->percpu_offset(t, cpu, &x->cpu_off[x->ncpus]) == 0)
			x->cpus[x->ncpus++] = cpu;
	free(bits);
}

static void free_traces(struct kml_ctx *x);

static void kml_free(struct kml_ctx *x)
{
	free(x->o);
	free_traces(x);
	free(x->mods);
	free(x->cpus);
	free(x->cpu_off);
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
		x->jiffies = 0;
	if (kpm_symbol_u64(t, "jiffies_min_age", &x->jiffies_min_age) ||
	    kpm_symbol_u64(t, "jiffies_last_scan", &x->jiffies_last_scan))
		x->jiffies_min_age = x->jiffies_last_scan = 0;
	/* TICK_NSEC = (NSEC_PER_SEC + HZ/2) / HZ; ntp only nudges it. */
	if (kpm_symbol_u64(t, "tick_nsec", &tick_nsec) == 0 && tick_nsec)
		x->hz = (1000000000ULL + tick_nsec / 2) / tick_nsec;
	init_depot(x);
	init_modules(x);
	if (t->ops->symbol(t, "_stext", &x->stext) || t->ops->symbol(t, "_end", &x->end))
		x->stext = x->end = 0;
	init_cpus(x);
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

	if (w->n < w->max)
		w->addrs[w->n] = node - M(w->x, KO_OBJECT_LIST)->off;
	w->n++;
	return 0;
}

static long walk_list(struct kml_ctx *x, uint64_t **out)
{
	struct walk w = { x, NULL, 0, 0 };
	long n, cap = 65536;

	for (;;) {
		w.addrs = malloc(cap * sizeof(*w.addrs));
		w.max = cap;
		w.n = 0;
		if (!w.addrs) {
			kpm_errf(x->t, "out of memory");
			return -1;
		}
		n = kpm_list_walk(x->t, x->sym_object_list, M(x, LH_NEXT)->off, MAX_OBJECTS,
				  walk_node, &w);
		if (w.n <= w.max)
			break;
		free(w.addrs);	/* more objects than room: once more, sized */
		cap = w.n;
	}
	if (n < 0)
		snprintf(x->walk_err, sizeof(x->walk_err), "%s", x->t->err);
	*out = w.addrs;
	return w.n;
}

long kpm_kmemleak_objects(struct kpm_target *t, uint64_t *objs, long max)
{
	struct kml_ctx x;
	uint64_t *addrs;
	long n, i;

	if (kml_init(&x, t))
		return -1;
	n = walk_list(&x, &addrs);
	for (i = 0; i < n && i < max; i++)
		objs[i] = addrs[i];
	free(addrs);
	kml_free(&x);
	return n < 0 ? -1 : i;
}

static void read_object(struct kml_ctx *x, unsigned char *buf, struct kobj *o)
{
	struct kpm_target *t = x->t;
	long clen;

	if (kpm_read(t, o->addr, buf, x->sz_object, "struct kmemleak_object")) {
		snprintf(o->err, sizeof(o->err), "%s", t->err);
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
	o->ok = 1;
}

/* Trees: count nodes (in order, explicit bounded stack). */
static long count_tree(struct kml_ctx *x, uint64_t root, char *err)
{
	struct kpm_target *t = x->t;
	uint64_t stack[TREE_DEPTH], node;
	long sp = 0, n = 0;

	if (kpm_read_member(t, root, M(x, RR_NODE), &node)) {
		snprintf(err, KPM_ERRLEN, "%s", t->err);
		return -1;
	}
	while (node || sp) {
		while (node) {
			if (sp == TREE_DEPTH) {
				snprintf(err, KPM_ERRLEN, "deeper than %d levels: not a red-black tree", TREE_DEPTH);
				return -1;
			}
			stack[sp++] = node;
			if (kpm_read_member(t, node, M(x, RB_LEFT), &node)) {
				snprintf(err, KPM_ERRLEN, "%s", t->err);
				return -1;
			}
		}
		node = stack[--sp];
		if (++n > MAX_OBJECTS) {
			snprintf(err, KPM_ERRLEN, "more than %ld nodes: cyclic?", MAX_OBJECTS);
			return -1;
		}
		if (kpm_read_member(t, node, M(x, RB_RIGHT), &node)) {
			snprintf(err, KPM_ERRLEN, "%s", t->err);
			return -1;
		}
	}
	return n;
}

/* The object whose block contains @addr, by the tree for its kind. */
static uint64_t lookup_tree(struct kml_ctx *x, uint64_t root, uint64_t addr)
{
	struct kpm_target *t = x->t;
	uint64_t node, obj, ptr, size;
	int depth;

	if (!root || kpm_read_member(t, root, M(x, RR_NODE), &node))
		return 0;
	for (depth = 0; node && depth < TREE_DEPTH; depth++) {
		obj = node - M(x, KO_RB_NODE)->off;
		if (kpm_read_member(t, obj, M(x, KO_POINTER), &ptr) ||
		    kpm_read_member(t, obj, M(x, KO_SIZE), &size))
			return 0;
		if (addr < ptr) {
			if (kpm_read_member(t, node, M(x, RB_LEFT), &node))
				return 0;
		} else if (addr >= ptr + size) {
			if (kpm_read_member(t, node, M(x, RB_RIGHT), &node))
				return 0;
		} else {
			return obj;
		}
	}
	return 0;
}

/* Stack depot */

static struct trace *get_trace(struct kml_ctx *x, uint32_t handle)
{
	struct kpm_target *t = x->t;
	struct trace *tr;
	uint64_t index, offset, pool, rec, e;
	uint32_t size, rec_handle;
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
	index = get_bits(handle, &x->h_index);
	offset = get_bits(handle, &x->h_offset) << DEPOT_STACK_ALIGN;
	if (x->depot == 2) {
		if (!index) {
			snprintf(tr->err, sizeof(tr->err), "stack depot handle %#x: no pool", handle);
			return tr;
		}
		index--;	/* pool_index_plus_1 */
	}
	if (index > 65535 ||
	    kpm_read_u64(t, x->depot_array + 8 * index, &pool, "stack depot pool") ||
	    kpm_read_u32(t, pool + offset + M(x, SR_SIZE)->off, &size, "stack_record.size") ||
	    kpm_read_u32(t, pool + offset + M(x, SR_HANDLE)->off, &rec_handle, "stack_record.handle")) {
		snprintf(tr->err, sizeof(tr->err), "stack depot handle %#x: %.200s", handle,
			 index > 65535 ? "index out of range" : t->err);
		return tr;
	}
	rec = pool + offset;
	if (rec_handle != handle || size > MAX_FRAMES) {
		snprintf(tr->err, sizeof(tr->err), "stack depot handle %#x: record at %#" PRIx64 " does not match (handle %#x, %u frames)",
			 handle, rec, rec_handle, size);
		return tr;
	}
	tr->frames = calloc(size ? size : 1, sizeof(*tr->frames));
	if (!tr->frames)
		return tr;
	for (i = 0; i < (int)size; i++) {
		struct frame *f = &tr->frames[i];

		if (kpm_read_u64(t, rec + M(x, SR_ENTRIES)->off + 8 * i, &e, "stack_record.entries")) {
			snprintf(tr->err, sizeof(tr->err), "%s", t->err);
			return tr;
		}
		f->addr = e;
		if (!nameable(x, e) || t->ops->symbol_at(t, e, f->sym, sizeof(f->sym), &f->off))
			f->sym[0] = 0;
		f->module = module_of(x, e);
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
			free(tr->frames);
			free(tr);
		}
}

/* Checksums */

enum { CSUM_NA, CSUM_OK, CSUM_UNSET, CSUM_CHANGED, CSUM_UNREADABLE };

static const char *csum_text(int s)
{
	static const char *const txt[] = { "-", "ok", "unset", "changed", "unreadable" };

	return txt[s];
}

/* Recompute; for per-CPU objects both folds are computed. */
static int recompute(struct kml_ctx *x, struct kobj *o, uint32_t *chained, uint32_t *xored)
{
	struct kpm_target *t = x->t;
	unsigned char *buf;
	int i;

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
	}
	free(buf);
	return 0;
}

static int csum_state(struct kml_ctx *x, struct kobj *o, uint32_t *value)
{
	uint32_t chained, xored;
	int r = recompute(x, o, &chained, &xored);

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
	return CSUM_CHANGED;
}

/* Decide the per-CPU fold from the objects whose stored checksum matches one. */
static void detect_percpu_fold(struct kml_ctx *x)
{
	long i, chained = 0, xored = 0;
	uint32_t c, xr;

	x->percpu_chained = 1;
	for (i = 0; i < x->n; i++) {
		struct kobj *o = &x->o[i];

		if (!o->ok || !(o->flags & OBJECT_PERCPU) || recompute(x, o, &c, &xr))
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
	if (!x->jiffies_last_scan)
		return 1;
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
	size_t n = 0;
	unsigned int b;

	buf[0] = 0;
	for (b = 0; b < 32; b++)
		if (flags & (1u << b))
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "|" : "",
				      b < sizeof(flag_names) / sizeof(flag_names[0]) ? flag_names[b] : "?");
	if (!n)
		snprintf(buf, len, "0");
}

static const char *kind(const struct kobj *o)
{
	return o->flags & OBJECT_PERCPU ? "percpu" : o->flags & OBJECT_PHYS ? "phys" : "virtual";
}

/* hex_dump_to_buffer(): 16 bytes a row, 1-byte groups, ASCII column */
static void hex_rows(FILE *fp, const unsigned char *p, size_t len)
{
	size_t r, i;

	for (r = 0; r < len; r += 16) {
		size_t n = len - r < 16 ? len - r : 16;

		fprintf(fp, "    ");
		for (i = 0; i < n; i++)
			fprintf(fp, "%02x%s", p[r + i], i + 1 < n ? " " : "");
		fprintf(fp, "%*s  ", (int)(3 * (16 - n)), "");
		for (i = 0; i < n; i++)
			fputc(p[r + i] >= 0x20 && p[r + i] < 0x7f ? p[r + i] : '.', fp);
		fputc('\n', fp);
	}
}

static uint64_t age_ms(struct kml_ctx *x, const struct kobj *o)
{
	if (!x->hz || !x->jiffies)
		return 0;
	return (x->jiffies - o->jiffies) * 1000 / x->hz;
}

static void print_object(struct kml_ctx *x, FILE *fp, struct kobj *o, unsigned int flags)
{
	struct kpm_target *t = x->t;
	char fl[96];
	uint32_t csum = 0;
	int cs, i;
	struct trace *tr;
	unsigned char hex[HEX_BYTES];
	size_t hlen;

	if (!o->ok) {
		fprintf(fp, "kmemleak_object %" PRIx64 ": %s\n", o->addr, o->err);
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
	cs = csum_state(x, o, &csum);
	if (cs == CSUM_NA || cs == CSUM_UNREADABLE)
		fprintf(fp, "  checksum 0x%08x (recomputed: %s)\n", o->checksum,
			cs == CSUM_NA ? "not applicable" : "contents not in dump");
	else
		fprintf(fp, "  checksum 0x%08x recomputed 0x%08x%s: %s\n", o->checksum, csum,
			o->flags & OBJECT_PERCPU ? (x->percpu_chained ? " (chained over cpus)" : " (xor over cpus)") : "",
			csum_text(cs));
	if (flags & KPM_KML_HEX && o->flags & OBJECT_ALLOCATED && !(o->flags & OBJECT_PHYS)) {
		hlen = o->size < HEX_BYTES ? o->size : HEX_BYTES;
		if (o->flags & OBJECT_PERCPU) {
			for (i = 0; i < x->ncpus; i++) {
				fprintf(fp, "  hex dump (first %zu bytes on cpu %d):\n", hlen, x->cpus[i]);
				if (kpm_read(t, o->pointer + x->cpu_off[i], hex, hlen, "per-CPU contents"))
					fprintf(fp, "    %s\n", t->err);
				else
					hex_rows(fp, hex, hlen);
			}
		} else {
			fprintf(fp, "  hex dump (first %zu bytes):\n", hlen);
			if (kpm_read(t, o->pointer, hex, hlen, "object contents"))
				fprintf(fp, "    %s\n", t->err);
			else
				hex_rows(fp, hex, hlen);
		}
	}
	tr = get_trace(x, o->trace_handle);
	fprintf(fp, "  backtrace (handle %#x):\n", o->trace_handle);
	if (!tr || tr->nframes < 0)
		fprintf(fp, "    %s\n", tr ? tr->err : "out of memory");
	else
		for (i = 0; i < tr->nframes; i++) {
			struct frame *f = &tr->frames[i];

			fprintf(fp, "    [<%016" PRIx64 ">] ", f->addr);
			if (f->sym[0])
				fprintf(fp, "%s+%#" PRIx64, f->sym, f->off);
			else
				fprintf(fp, "%#" PRIx64, f->addr);
			if (f->module)
				fprintf(fp, " [%s]", f->module);
			fprintf(fp, "\n");
		}
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
	size_t hlen, k;

	kpm_json_begin(j, NULL, '{');
	kpm_json_hex(j, "address", o->addr);
	if (!o->ok) {
		kpm_json_str(j, "error", o->err);
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
	cs = csum_state(x, o, &csum);
	if (cs != CSUM_NA && cs != CSUM_UNREADABLE)
		kpm_json_u64(j, "checksum_recomputed", csum);
	kpm_json_str(j, "checksum_state", csum_text(cs));
	kpm_json_u64(j, "jiffies", o->jiffies);
	if (x->hz && x->jiffies)
		kpm_json_u64(j, "age_ms", age_ms(x, o));
	kpm_json_i64(j, "pid", o->pid);
	kpm_json_str(j, "comm", o->comm);
	kpm_json_u64(j, "trace_handle", o->trace_handle);
	tr = get_trace(x, o->trace_handle);
	if (tr && tr->nframes >= 0) {
		kpm_json_begin(j, "backtrace", '[');
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
			} else {
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

static long top_leakers(struct kml_ctx *x, struct leaker *top, long max)
{
	struct leaker *all = calloc(x->n ? x->n : 1, sizeof(*all));
	long i, k, n = 0;

	if (!all)
		return 0;
	for (i = 0; i < x->n; i++) {
		struct kobj *o = &x->o[i];

		if (!o->ok || !listed(x, o))
			continue;
		for (k = 0; k < n && all[k].handle != o->trace_handle; k++)
			;
		if (k == n)
			all[n++].handle = o->trace_handle;
		all[k].bytes += o->size;
		all[k].objects++;
	}
	qsort(all, n, sizeof(*all), cmp_leaker);
	if (n > max)
		n = max;
	memcpy(top, all, n * sizeof(*top));
	free(all);
	return n;
}

/* The caller of the allocator: the first frame outside the allocators. */
static const struct frame *leak_site(struct trace *tr)
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
	ntop = top_leakers(x, top, TOP_LEAKERS);
	if (ntop) {
		fprintf(fp, "  largest leakers (reported, by allocation backtrace):\n");
		fprintf(fp, "         BYTES  OBJECTS  HANDLE      ALLOCATED BY\n");
		for (i = 0; i < ntop; i++) {
			struct trace *tr = get_trace(x, top[i].handle);
			const struct frame *f = leak_site(tr);

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
	ntop = top_leakers(x, top, TOP_LEAKERS);
	kpm_json_begin(j, "top_leakers", '[');
	for (i = 0; i < ntop; i++) {
		const struct frame *f = leak_site(get_trace(x, top[i].handle));

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

long kpm_kmemleak_report(struct kpm_target *t, FILE *fp, const struct kpm_kmemleak_filter *f)
{
	struct kml_ctx x;
	struct kpm_json j;
	uint64_t *addrs, want = 0;
	unsigned char *buf;
	long i, n, shown = 0;
	int k;

	if (kml_init(&x, t))
		return -1;
	n = walk_list(&x, &addrs);
	if (n < 0) {
		kml_free(&x);
		return -1;
	}
	x.o = calloc(n ? n : 1, sizeof(*x.o));
	buf = malloc(x.sz_object);
	if (!x.o || !buf) {
		kpm_errf(t, "out of memory");
		free(addrs);
		free(buf);
		kml_free(&x);
		return -1;
	}
	x.n = n;
	for (i = 0; i < n; i++) {
		x.o[i].addr = addrs[i];
		read_object(&x, buf, &x.o[i]);
	}
	free(addrs);
	free(buf);
	for (k = 0; k < 3; k++)
		x.tree_count[k] = x.trees[k] ? count_tree(&x, x.trees[k], x.tree_err[k]) : 0;
	detect_percpu_fold(&x);
	if (f->flags & KPM_KML_ADDR) {
		for (k = 0; k < 3 && !want; k++) {
			uint64_t a = f->addr;

			/* a per-CPU address is the __percpu pointer plus a CPU's offset */
			if (k == 2)
				for (i = 0; i < x.ncpus && !want; i++)
					want = lookup_tree(&x, x.trees[2], a - x.cpu_off[i]);
			if (!want)
				want = lookup_tree(&x, x.trees[k], a);
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
	for (i = 0; i < n && !(f->flags & KPM_KML_SUMMARY); i++) {
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
