/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpm decoder core: the narrow "target" interface every front end implements.
 *
 * A target is a kernel image to read: a vmcore in crash, a vmcore or
 * /proc/kcore in drgn, a vmcore in kpm-dump.  The decoders never see crash
 * or drgn; they ask the target to read memory, to resolve a symbol, and to
 * give the layout of a struct member from the kernel's (or a module's)
 * debug info.  Nothing about a kernel structure's layout is compiled into
 * kpm.
 */
#ifndef KPM_TARGET_H
#define KPM_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KPM_ERRLEN 256

struct kpm_target;
struct kpm_kernel;

/*
 * Where a member lives: byte offset and size of its storage; for a
 * bitfield also its first bit (counted from the start of the struct, in
 * the target's little-endian order) and width, else bit_size is 0.
 */
struct kpm_layout {
	long off;
	long size;
	long bit_off;
	long bit_size;
};

struct kpm_target_ops {
	/* Read len bytes at kernel virtual address addr: 0, or -1. */
	int (*read)(struct kpm_target *t, uint64_t addr, void *buf, size_t len);
	/* Address of a global or static symbol (also a module's): 0, or -1. */
	int (*symbol)(struct kpm_target *t, const char *name, uint64_t *addr);
	/*
	 * Layout of @member in struct @type, also inside anonymous structs and
	 * unions: 0, or -1 when absent.  @type is a struct tag ("nvme_queue"),
	 * or "union TAG" for a union.
	 */
	int (*member)(struct kpm_target *t, const char *type, const char *member,
		      struct kpm_layout *out);
	/* sizeof(struct @type), or -1 when the type is unknown. */
	long (*type_size)(struct kpm_target *t, const char *type);
	/* Value of an enumerator: 0, or -1 when unknown. */
	int (*enum_value)(struct kpm_target *t, const char *name, long *value);
	/* The symbol at or below @addr and the offset into it: 0, or -1. */
	int (*symbol_at)(struct kpm_target *t, uint64_t addr, char *name, size_t len,
			 uint64_t *offset);
};

/*
 * The architecture of the dumped kernel, which its front end tells
 * (crash's machine type, drgn's platform, libkdumpfile's arch.name):
 * pointer checks follow it.  Decoders never depend on it for layouts; they
 * probe the debug info.
 */
enum kpm_arch {
	KPM_ARCH_UNKNOWN,	/* both architectures' kernel addresses pass */
	KPM_ARCH_X86_64,
	KPM_ARCH_ARM64,
};

struct kpm_target {
	const struct kpm_target_ops *ops;
	enum kpm_arch arch;
	void *priv;
	char err[KPM_ERRLEN];
	struct kpm_kernel *kern;	/* core's cache of kernel facts (kernel.c) */
	long ptr_size;			/* sizeof(void *), 0 until known */
	struct kpm_cache *cache;	/* dump blocks read so far (kpm_read) */
	char *eraseinfo;		/* the dump's erase info, when it was filtered */
};

/*
 * Set up a target; kpm_target_done() frees what the core cached in it.
 * A target lives for one command: what it caches (kernel facts, and the
 * dump's memory in KPM_BLOCK-sized blocks, so that a front end is asked
 * once per block rather than once per field) is never older than the
 * command, which is what a live kernel (/proc/kcore) needs.  KPM_CACHE=0
 * in the environment turns the block cache off (benchmarks).
 */
void kpm_target_init(struct kpm_target *t, const struct kpm_target_ops *ops, void *priv);
void kpm_target_done(struct kpm_target *t);
void kpm_cache_free(struct kpm_target *t);
/*
 * Set t->arch from an architecture name as the front ends spell it
 * ("x86_64", "X86_64", "aarch64", "AARCH64", "arm64", "ARM64"): 0, or -1
 * (unknown name: t->arch stays KPM_ARCH_UNKNOWN).
 */
int kpm_target_set_arch(struct kpm_target *t, const char *name);
const char *kpm_arch_name(const struct kpm_target *t);

/*
 * A dump filtered with makedumpfile --config carries its erase commands
 * (makedumpfile's eraseinfo: "erase SYMBOL[.member...] size N" lines,
 * symbolic, never addresses); the erased bytes read as 'X'.  The front end
 * hands the text over (a malloc'd string, freed by kpm_target_done(), or
 * NULL).  kpm_erased() is how many of @len bytes read from such a dump lie
 * in runs of at least KPM_ERASE_RUN filler bytes: 0 for a dump that was
 * not filtered, where 'X' is data.
 */
#define KPM_ERASE_BYTE	0x58
#define KPM_ERASE_RUN	8
void kpm_target_set_eraseinfo(struct kpm_target *t, char *eraseinfo);
long kpm_erase_commands(const struct kpm_target *t);
size_t kpm_erased(const struct kpm_target *t, const unsigned char *buf, size_t len);

void kpm_errf(struct kpm_target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One struct member the decoder needs, resolved once per run. */
struct kpm_member {
	const char *type;
	const char *name;
	int optional;		/* absent in some kernels: decoder copes */
	long off;		/* -1 when absent */
	long size;
	long bit_off;		/* bitfields: see struct kpm_layout */
	long bit_size;		/* 0: not a bitfield */
};

#define KPM_MEMBER(ty, m)	{ ty, #m, 0, -1, -1, 0, 0 }
#define KPM_MEMBER_OPT(ty, m)	{ ty, #m, 1, -1, -1, 0, 0 }

/*
 * Resolve every member of a NULL-type-terminated table.  Returns 0, or -1
 * naming the first required member the kernel's debug info lacks.
 */
int kpm_resolve(struct kpm_target *t, struct kpm_member *tab);
/* Resolve one member (m->type, m->name): 0, or -1 (absent: off -1). */
int kpm_resolve_one(struct kpm_target *t, struct kpm_member *m);
int kpm_lookup_member(struct kpm_target *t, const char *type, const char *member,
		      struct kpm_layout *out);
static inline int kpm_has(const struct kpm_member *m) { return m->off >= 0; }

/* Unsigned little-endian integer of @size bytes (1..8) from a buffer. */
uint64_t kpm_get(const void *buf, long off, long size);
/* An integer of @size bytes read unsigned, as the signed value it holds (4 or 8). */
static inline long kpm_sext(uint64_t v, long size)
{
	return size == 4 ? (long)(int32_t)(uint32_t)v : (long)v;
}
/* A member's value from a copy of its object (bitfields extracted). */
uint64_t kpm_field(const void *obj, const struct kpm_member *m);

/* Reads name what they read: the error says "@what: cannot read ...". */
int kpm_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len,
	     const char *what);
/* An integer of @size bytes (1..8). */
int kpm_read_uint(struct kpm_target *t, uint64_t addr, long size, uint64_t *val,
		  const char *what);
/* A pointer: its size comes from the kernel's debug info. */
int kpm_read_ptr(struct kpm_target *t, uint64_t addr, uint64_t *val, const char *what);
int kpm_read_member(struct kpm_target *t, uint64_t base,
		    const struct kpm_member *m, uint64_t *val);
/* The unsigned long (pointer-sized) value of a global variable. */
int kpm_symbol_u64(struct kpm_target *t, const char *sym, uint64_t *val);
/*
 * A NUL-terminated string of at most @max bytes (buf has room for
 * max + 1), read up to its NUL one page at a time, so a short string just
 * before an unreadable page is still read.  Returns its length, or -1.
 */
long kpm_read_string(struct kpm_target *t, uint64_t addr, char *buf, size_t max,
		     const char *what);

/*
 * A plausible kernel pointer of the target's architecture, rejected before
 * it is read when it is garbage:
 *   x86_64: canonical and in the upper half (4- or 5-level paging:
 *           0xff00000000000000 and up);
 *   arm64:  the upper VA range of 48- or 52-bit VAs (0xfff0000000000000
 *           and up) once the top byte is untagged: KASAN_SW_TAGS and MTE
 *           kernels keep a tag 0xf0..0xff in bits 56-63.
 * NULL and ~0 are never pointers.
 */
int kpm_kptr_ok(const struct kpm_target *t, uint64_t p);
/* The address a pointer reads: the arm64 top-byte tag made 0xff. */
uint64_t kpm_untag(const struct kpm_target *t, uint64_t p);
/* sizeof(void *) in the target (from debug info; 8 if it cannot say). */
long kpm_ptr_size(struct kpm_target *t);

/*
 * Bounded walk of a list_head chain starting at head->next: calls fn once
 * for every distinct node until the chain returns to @head, @max nodes
 * were seen, a node cannot be read, a next pointer is NULL or not a kernel
 * address, a node's prev does not point back (when @prev_off >= 0), or it
 * runs into a cycle that does not pass through @head (found with Brent's
 * algorithm in a first pass, so that the nodes of a cycle are visited
 * once, not until it is noticed).  Returns the node count, or -1 with the
 * target's error describing why the walk stopped early (fn has then seen
 * every valid node reached).  fn returning < 0 stops the walk (-1).
 */
typedef int (*kpm_list_fn)(struct kpm_target *t, uint64_t node, void *arg);
long kpm_list_walk(struct kpm_target *t, uint64_t head, long next_off,
		   long prev_off, long max, kpm_list_fn fn, void *arg);
/*
 * The same, and peek(t, node, i, peek_arg) sees each node as the first
 * pass reaches it, the i-th in walk order, while its memory is still in
 * the block cache (a long list does not fit there by the time fn runs).
 * peek may see nodes that fn will not (a cycle's, once around): fn's
 * visits are the walk's result, peek's a read-ahead for them.
 */
typedef void (*kpm_list_peek)(struct kpm_target *t, uint64_t node, long i, void *peek_arg);
long kpm_list_walk_peek(struct kpm_target *t, uint64_t head, long next_off,
			long prev_off, long max, kpm_list_fn fn, void *arg,
			kpm_list_peek peek, void *peek_arg);

/* JSON output helpers (keys are the kernel's own member names). */
#define KPM_JSON_DEPTH 32
struct kpm_json {
	FILE *fp;
	int depth;
	int first[KPM_JSON_DEPTH];
};
void kpm_json_open(struct kpm_json *j, FILE *fp);
void kpm_json_begin(struct kpm_json *j, const char *key, char brace);
void kpm_json_end(struct kpm_json *j, char brace);
void kpm_json_u64(struct kpm_json *j, const char *key, uint64_t v);
void kpm_json_i64(struct kpm_json *j, const char *key, int64_t v);
void kpm_json_hex(struct kpm_json *j, const char *key, uint64_t v);
void kpm_json_str(struct kpm_json *j, const char *key, const char *s);
void kpm_json_bool(struct kpm_json *j, const char *key, int v);
void kpm_json_null(struct kpm_json *j, const char *key);
/* A value already rendered as JSON (an object or array of another writer). */
void kpm_json_raw(struct kpm_json *j, const char *key, const char *json);
void kpm_json_close(struct kpm_json *j);

#endif
