// SPDX-License-Identifier: GPL-2.0
/* kpm decoder core: helpers shared by every decoder. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <inttypes.h>
#include "target.h"

void kpm_target_init(struct kpm_target *t, const struct kpm_target_ops *ops, void *priv)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->priv = priv;
}

void kpm_target_set_eraseinfo(struct kpm_target *t, char *eraseinfo)
{
	free(t->eraseinfo);
	t->eraseinfo = eraseinfo;
}

long kpm_erase_commands(const struct kpm_target *t)
{
	const char *p = t->eraseinfo;
	long n = 0;

	for (; p && *p; p = strchrnul(p, '\n'), p += !!*p)
		n += !strncmp(p, "erase ", 6);
	return n;
}

size_t kpm_erased(const struct kpm_target *t, const unsigned char *buf, size_t len)
{
	size_t i, run = 0, n = 0;

	if (!t->eraseinfo)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && buf[i] == KPM_ERASE_BYTE) {
			run++;
			continue;
		}
		if (run >= KPM_ERASE_RUN)
			n += run;
		run = 0;
	}
	return n;
}

static const struct {
	const char *name;
	enum kpm_arch arch;
} arch_names[] = {
	{ "x86_64", KPM_ARCH_X86_64 },
	{ "x86-64", KPM_ARCH_X86_64 },
	{ "aarch64", KPM_ARCH_ARM64 },
	{ "arm64", KPM_ARCH_ARM64 },
};

int kpm_target_set_arch(struct kpm_target *t, const char *name)
{
	unsigned int i;

	for (i = 0; name && i < sizeof(arch_names) / sizeof(arch_names[0]); i++)
		if (!strcasecmp(name, arch_names[i].name)) {
			t->arch = arch_names[i].arch;
			return 0;
		}
	t->arch = KPM_ARCH_UNKNOWN;
	return -1;
}

const char *kpm_arch_name(const struct kpm_target *t)
{
	switch (t->arch) {
	case KPM_ARCH_X86_64:
		return "x86_64";
	case KPM_ARCH_ARM64:
		return "arm64";
	default:
		return "unknown";
	}
}

void kpm_errf(struct kpm_target *t, const char *fmt, ...)
{
	char buf[KPM_ERRLEN];
	va_list ap;

	/* the arguments may point into t->err itself */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(t->err, buf, sizeof(buf));
}

int kpm_lookup_member(struct kpm_target *t, const char *type, const char *member,
		      struct kpm_layout *out)
{
	memset(out, 0, sizeof(*out));
	if (t->ops->member(t, type, member, out) < 0) {
		out->off = out->size = -1;
		out->bit_off = out->bit_size = 0;
		return -1;
	}
	return 0;
}

int kpm_resolve_one(struct kpm_target *t, struct kpm_member *m)
{
	struct kpm_layout l;
	int ret = kpm_lookup_member(t, m->type, m->name, &l);

	m->off = l.off;
	m->size = l.size;
	m->bit_off = l.bit_off;
	m->bit_size = l.bit_size;
	return ret;
}

int kpm_resolve(struct kpm_target *t, struct kpm_member *tab)
{
	struct kpm_member *m;

	for (m = tab; m->type; m++) {
		if (kpm_resolve_one(t, m) < 0 && !m->optional) {
			kpm_errf(t, "this kernel's debug info has no %s.%s (is the module's debug info loaded?)",
				 m->type, m->name);
			return -1;
		}
	}
	return 0;
}

uint64_t kpm_get(const void *buf, long off, long size)
{
	const unsigned char *p = (const unsigned char *)buf + off;
	uint64_t v = 0;
	long i;

	if (size > 8)
		size = 8;
	for (i = size - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* The bytes that hold a member's value: *nbytes from *first (little-endian). */
static void member_span(const struct kpm_member *m, long *first, long *nbytes)
{
	if (m->bit_size) {
		*first = m->bit_off / 8;
		*nbytes = (m->bit_off % 8 + m->bit_size + 7) / 8;
	} else {
		*first = m->off;
		*nbytes = m->size;
	}
}

/* A member's value from the bytes of its span (buf[0] is byte @first). */
static uint64_t span_value(const void *buf, const struct kpm_member *m, long nbytes)
{
	uint64_t v = kpm_get(buf, 0, nbytes);

	if (!m->bit_size)
		return v;
	v >>= m->bit_off % 8;
	return m->bit_size >= 64 ? v : v & ((1ULL << m->bit_size) - 1);
}

uint64_t kpm_field(const void *obj, const struct kpm_member *m)
{
	long first, nbytes;

	if (!kpm_has(m))
		return 0;
	member_span(m, &first, &nbytes);
	if (m->bit_size && nbytes > 8)
		return 0;
	return span_value((const unsigned char *)obj + first, m, nbytes);
}

/*
 * The block cache: the dump's memory in 4 KiB blocks (a block lies inside
 * one page whatever the kernel's page size), direct-mapped.  A walk reads a
 * few fields of each object, and objects lie side by side in their slab
 * pages: one front-end read per block instead of one per field is most of
 * the cost of a walk in crash (readmem) and all of it in drgn (a Python
 * callback per read).
 */
#define KPM_BLOCK	4096
#define CACHE_BITS	10	/* 1024 blocks, 4 MiB */
#define CACHE_SLOTS	(1u << CACHE_BITS)

struct kpm_cache {
	int off;				/* KPM_CACHE=0 */
	uint64_t tag[CACHE_SLOTS];		/* block address | 1; 0: empty */
	/*
	 * a slot's data is read only after its tag is set: not zeroed, so
	 * that a short decode (a fuzzer's execution, a small dump) touches
	 * only the pages of the blocks it reads, not 4 MiB
	 */
	unsigned char (*data)[KPM_BLOCK];
};

/*
 * The data of the last cache freed, for the next target's: a front end
 * that makes a target per command (kpm-fuzz: three per execution) would
 * otherwise map, fault in and unmap 4 MiB each time.  Swapped atomically:
 * drgn's ctypes calls may come from more than one thread.
 */
static void *spare_data;

static struct kpm_cache *cache_get(struct kpm_target *t)
{
	const char *e;

	if (!t->cache) {
		t->cache = calloc(1, sizeof(*t->cache));
		if (!t->cache)
			return NULL;
		t->cache->data = __atomic_exchange_n(&spare_data, NULL, __ATOMIC_ACQ_REL);
		if (!t->cache->data)
			t->cache->data = malloc(CACHE_SLOTS * sizeof(*t->cache->data));
		if (!t->cache->data) {
			free(t->cache);
			t->cache = NULL;
			return NULL;
		}
		e = getenv("KPM_CACHE");
		if (e && !strcmp(e, "0"))
			t->cache->off = 1;
	}
	return t->cache;
}

void kpm_cache_free(struct kpm_target *t)
{
	if (t->cache)
		free(__atomic_exchange_n(&spare_data, t->cache->data, __ATOMIC_ACQ_REL));
	free(t->cache);
	t->cache = NULL;
}

static unsigned int cache_slot(uint64_t blk)
{
	uint64_t n = blk / KPM_BLOCK;

	return (n ^ (n >> CACHE_BITS) ^ (n >> (2 * CACHE_BITS))) & (CACHE_SLOTS - 1);
}

static int cached_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	struct kpm_cache *c = cache_get(t);
	unsigned char *out = buf;

	/* more than a block: nothing to share with the fields around it */
	if (!c || c->off || len > KPM_BLOCK)
		return t->ops->read(t, addr, buf, len);
	while (len) {
		uint64_t blk = addr & ~(uint64_t)(KPM_BLOCK - 1);
		size_t in = addr - blk, n = KPM_BLOCK - in < len ? KPM_BLOCK - in : len;
		unsigned int i = cache_slot(blk);

		if (c->tag[i] != (blk | 1)) {
			if (t->ops->read(t, blk, c->data[i], KPM_BLOCK)) {
				/* not readable whole: the range alone, not cached */
				c->tag[i] = 0;
				if (t->ops->read(t, addr, out, n))
					return -1;
				goto next;
			}
			c->tag[i] = blk | 1;
		}
		memcpy(out, c->data[i] + in, n);
next:
		addr += n;
		out += n;
		len -= n;
	}
	return 0;
}

int kpm_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len,
	     const char *what)
{
	if (!kpm_kptr_ok(t, addr) || kpm_untag(t, addr) + len < kpm_untag(t, addr)) {
		kpm_errf(t, "%s: invalid address %#" PRIx64, what, addr);
		return -1;
	}
	if (cached_read(t, kpm_untag(t, addr), buf, len) == 0)
		return 0;
	/*
	 * One text in every front end: crash, drgn and libkdumpfile each
	 * have their own words for a page that is not there.
	 */
	kpm_errf(t, "%s: cannot read %zu bytes at %#" PRIx64 ": page not in dump", what, len,
		 addr);
	return -1;
}

int kpm_read_uint(struct kpm_target *t, uint64_t addr, long size, uint64_t *val,
		  const char *what)
{
	unsigned char b[8];

	if (size < 1 || size > 8) {
		kpm_errf(t, "%s: not an integer (%ld bytes)", what, size);
		return -1;
	}
	if (kpm_read(t, addr, b, size, what))
		return -1;
	*val = kpm_get(b, 0, size);
	return 0;
}

long kpm_ptr_size(struct kpm_target *t)
{
	struct kpm_layout l;

	/* list_head.next is a pointer in every kernel */
	if (!t->ptr_size)
		t->ptr_size = kpm_lookup_member(t, "list_head", "next", &l) == 0 &&
			      (l.size == 4 || l.size == 8) ? l.size : 8;
	return t->ptr_size;
}

int kpm_read_ptr(struct kpm_target *t, uint64_t addr, uint64_t *val, const char *what)
{
	return kpm_read_uint(t, addr, kpm_ptr_size(t), val, what);
}

int kpm_symbol_u64(struct kpm_target *t, const char *sym, uint64_t *val)
{
	uint64_t addr;

	if (t->ops->symbol(t, sym, &addr)) {
		kpm_errf(t, "no symbol %s", sym);
		return -1;
	}
	return kpm_read_ptr(t, addr, val, sym);
}

int kpm_read_member(struct kpm_target *t, uint64_t base,
		    const struct kpm_member *m, uint64_t *val)
{
	unsigned char b[8];
	char what[96];
	long first, nbytes;

	snprintf(what, sizeof(what), "%s.%s", m->type, m->name);
	if (!kpm_has(m)) {
		kpm_errf(t, "%s: not in this kernel's debug info", what);
		return -1;
	}
	member_span(m, &first, &nbytes);
	if (nbytes < 1 || nbytes > 8) {
		kpm_errf(t, "%s: not readable as an integer (%ld bytes)", what, m->size);
		return -1;
	}
	if (kpm_read(t, base + first, b, nbytes, what))
		return -1;
	*val = span_value(b, m, nbytes);
	return 0;
}

long kpm_read_string(struct kpm_target *t, uint64_t addr, char *buf, size_t max,
		     const char *what)
{
	size_t n = 0, chunk;
	char *nul;

	buf[0] = 0;
	while (n < max) {
		/* up to the end of the page: the next one may be missing */
		chunk = 4096 - ((addr + n) & 4095);
		if (chunk > max - n)
			chunk = max - n;
		if (kpm_read(t, addr + n, buf + n, chunk, what)) {
			buf[n] = 0;
			return -1;
		}
		nul = memchr(buf + n, 0, chunk);
		if (nul)
			return nul - buf;
		n += chunk;
	}
	buf[max] = 0;
	return max;
}

#define ARM64_TAG_MIN	0xf0ULL		/* KASAN_SW_TAGS, MTE: 0xf0..0xff */
#define ARM64_KVA_MIN	0xfff0000000000000ULL	/* 52-bit VA kernel range */
#define X86_64_KVA_MIN	0xff00000000000000ULL	/* LA57 kernel half */

uint64_t kpm_untag(const struct kpm_target *t, uint64_t p)
{
	if (t->arch == KPM_ARCH_ARM64 && (p >> 56) >= ARM64_TAG_MIN)
		return p | (0xffULL << 56);
	return p;
}

int kpm_kptr_ok(const struct kpm_target *t, uint64_t p)
{
	if (p == ~0ULL)
		return 0;
	switch (t->arch) {
	case KPM_ARCH_ARM64:
		return (p >> 56) >= ARM64_TAG_MIN && kpm_untag(t, p) >= ARM64_KVA_MIN;
	case KPM_ARCH_X86_64:
		return p >= X86_64_KVA_MIN;
	default:
		return p >= X86_64_KVA_MIN;
	}
}

/*
 * One step of a list walk: the next pointer of @node, which must be a
 * kernel address (never NULL: a list_head's next is its head at the end),
 * and whose prev must point back at @node.
 */
static int list_next(struct kpm_target *t, uint64_t node, long next_off, long prev_off,
		     uint64_t *next)
{
	uint64_t back;

	if (kpm_read_ptr(t, node + next_off, next, "list entry"))
		return -1;
	if (!*next) {
		kpm_errf(t, "list entry %#" PRIx64 ": next is NULL", node);
		return -1;
	}
	if (!kpm_kptr_ok(t, *next)) {
		kpm_errf(t, "list entry %#" PRIx64 ": next %#" PRIx64 " is not a kernel address",
			 node, *next);
		return -1;
	}
	if (prev_off < 0)
		return 0;
	if (kpm_read_ptr(t, *next + prev_off, &back, "list entry"))
		return -1;
	if (back != node) {
		kpm_errf(t, "list entry %#" PRIx64 ": next %#" PRIx64 " has prev %#" PRIx64 ", not %#" PRIx64,
			 node, *next, back, node);
		return -1;
	}
	return 0;
}

long kpm_list_walk(struct kpm_target *t, uint64_t head, long next_off, long prev_off,
		   long max, kpm_list_fn fn, void *arg)
{
	return kpm_list_walk_peek(t, head, next_off, prev_off, max, fn, arg, NULL, NULL);
}

long kpm_list_walk_peek(struct kpm_target *t, uint64_t head, long next_off, long prev_off,
			long max, kpm_list_fn fn, void *arg, kpm_list_peek peek, void *peek_arg)
{
	uint64_t first, node, tortoise, hare, *seen = NULL;
	long n = 0, power = 1, lam = 0, mu = 0, i, distinct, nseen = 0, cap = 0;
	int record = fn != NULL;
	int cyclic = 0, broken = 0;
	char why[KPM_ERRLEN] = "";

	/* the head's own next: the same checks as any other step */
	if (list_next(t, head, next_off, prev_off, &first)) {
		kpm_errf(t, "list at %#" PRIx64 ": %.200s", head, t->err);
		return -1;
	}
	/*
	 * Pass 1 measures the list without visiting it: its length, or where
	 * it stops being valid, or (Brent) the length lam of a cycle that
	 * does not pass through the head.  Only entries whose successor was
	 * valid are counted, so that a bad next pointer is never visited.
	 */
	tortoise = node = first;
	while (node != head) {
		if (n >= max) {
			snprintf(why, sizeof(why), "stopped after %ld entries (limit)", max);
			break;
		}
		/*
		 * The entries in walk order: pass 2 visits them without reading
		 * the list again (a long list does not fit in the block cache).
		 * Out of memory, pass 2 reads the list again.
		 */
		if (record && nseen == cap) {
			uint64_t *more = realloc(seen, (cap ? 2 * cap : 1024) * sizeof(*seen));

			if (more) {
				seen = more;
				cap = cap ? 2 * cap : 1024;
			} else {
				record = 0;
			}
		}
		if (record)
			seen[nseen++] = node;
		if (peek)
			peek(t, node, n, peek_arg);
		n++;
		if (list_next(t, node, next_off, prev_off, &node)) {
			broken = 1;
			break;
		}
		lam++;
		if (node == tortoise && node != head) {
			cyclic = 1;
			break;
		}
		if (lam == power) {
			tortoise = node;
			power <<= 1;
			lam = 0;
		}
	}
	distinct = n;
	if (cyclic) {
		/* mu: where the cycle starts; hare runs lam entries ahead */
		tortoise = hare = first;
		for (i = 0; i < lam && !list_next(t, hare, next_off, -1, &hare); i++)
			;
		while (tortoise != hare && mu < max &&
		       !list_next(t, tortoise, next_off, -1, &tortoise) &&
		       !list_next(t, hare, next_off, -1, &hare))
			mu++;
		distinct = mu + lam;
		snprintf(why, sizeof(why), "cycle not through its head after %ld entries", distinct);
	} else if (broken) {
		snprintf(why, sizeof(why), "%s", t->err);
	}
	/*
	 * Pass 2 visits each distinct entry once: the first distinct entries
	 * of pass 1's walk order are the distinct ones, also in a cycle.
	 */
	if (record && nseen >= distinct) {
		for (i = 0; fn && i < distinct; i++)
			if (fn(t, seen[i], arg) < 0) {
				free(seen);
				return -1;
			}
	} else {
		for (node = first, i = 0; i < distinct; i++) {
			if (fn && fn(t, node, arg) < 0)
				return -1;
			if (i + 1 < distinct && list_next(t, node, next_off, -1, &node))
				break;
		}
	}
	free(seen);
	if (why[0]) {
		kpm_errf(t, "list at %#" PRIx64 ": %.200s", head, why);
		return -1;
	}
	return distinct;
}

/* JSON */

/*
 * The writers format numbers and copy strings by hand: a report of a
 * million objects is mostly this, and printf's parsing of its format was
 * the largest part of it.
 */
static void json_key(struct kpm_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc_unlocked(',', j->fp);
	j->first[j->depth] = 0;
	if (key) {
		fputc_unlocked('"', j->fp);
		fputs_unlocked(key, j->fp);
		fputs_unlocked("\":", j->fp);
	}
}

/* @v in base 10 or 16 at the end of @buf (24 bytes); returns where it starts */
static char *json_digits(char *buf, uint64_t v, unsigned int base)
{
	char *p = buf + 24;

	do {
		*--p = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	return p;
}

void kpm_json_open(struct kpm_json *j, FILE *fp)
{
	memset(j, 0, sizeof(*j));
	j->fp = fp;
	j->first[0] = 1;
}

void kpm_json_begin(struct kpm_json *j, const char *key, char brace)
{
	json_key(j, key);
	fputc_unlocked(brace, j->fp);
	if (j->depth < KPM_JSON_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = 1;
}

void kpm_json_end(struct kpm_json *j, char brace)
{
	fputc_unlocked(brace, j->fp);
	if (j->depth > 0)
		j->depth--;
}

void kpm_json_u64(struct kpm_json *j, const char *key, uint64_t v)
{
	char buf[24], *p = json_digits(buf, v, 10);

	json_key(j, key);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, j->fp);
}

void kpm_json_i64(struct kpm_json *j, const char *key, int64_t v)
{
	char buf[24], *p = json_digits(buf, v < 0 ? -(uint64_t)v : (uint64_t)v, 10);

	json_key(j, key);
	if (v < 0)
		fputc_unlocked('-', j->fp);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, j->fp);
}

void kpm_json_hex(struct kpm_json *j, const char *key, uint64_t v)
{
	char buf[24], *p = json_digits(buf, v, 16);

	json_key(j, key);
	/* "%#x": 0 has no 0x */
	fputs_unlocked(v ? "\"0x" : "\"", j->fp);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, j->fp);
	fputc_unlocked('"', j->fp);
}

void kpm_json_str(struct kpm_json *j, const char *key, const char *s)
{
	const char *run;

	json_key(j, key);
	fputc_unlocked('"', j->fp);
	while (*s) {
		for (run = s; *s && *s != '"' && *s != '\\' &&
		     (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f; s++)
			;
		if (s > run)
			fwrite_unlocked(run, 1, s - run, j->fp);
		if (!*s)
			break;
		if (*s == '"' || *s == '\\')
			fprintf(j->fp, "\\%c", *s);
		else
			/* control bytes, and bytes of a hostile dump that are not UTF-8 */
			fprintf(j->fp, "\\u%04x", (unsigned char)*s);
		s++;
	}
	fputc_unlocked('"', j->fp);
}

void kpm_json_bool(struct kpm_json *j, const char *key, int v)
{
	json_key(j, key);
	fputs_unlocked(v ? "true" : "false", j->fp);
}

void kpm_json_null(struct kpm_json *j, const char *key)
{
	json_key(j, key);
	fputs_unlocked("null", j->fp);
}

void kpm_json_raw(struct kpm_json *j, const char *key, const char *json)
{
	json_key(j, key);
	fputs_unlocked(json, j->fp);
}

void kpm_json_close(struct kpm_json *j)
{
	fputc('\n', j->fp);
	fflush(j->fp);
}
