// SPDX-License-Identifier: GPL-2.0
/* kpm decoder core: helpers shared by every decoder. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <string.h>
#include <inttypes.h>
#include "target.h"

void kpm_errf(struct kpm_target *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

int kpm_resolve(struct kpm_target *t, struct kpm_member *tab)
{
	struct kpm_member *m;

	for (m = tab; m->type; m++) {
		if (t->ops->member(t, m->type, m->name, &m->off, &m->size) < 0) {
			m->off = m->size = -1;
			if (!m->optional) {
				kpm_errf(t, "this kernel's debug info has no %s.%s (is the module's debug info loaded?)",
					 m->type, m->name);
				return -1;
			}
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

int kpm_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len,
	     const char *what)
{
	char why[KPM_ERRLEN];

	if (!kpm_kptr_ok(addr)) {
		kpm_errf(t, "%s: invalid address %#" PRIx64, what, addr);
		return -1;
	}
	if (t->ops->read(t, addr, buf, len) == 0)
		return 0;
	memcpy(why, t->err, sizeof(why));
	kpm_errf(t, "%s: cannot read %zu bytes at %#" PRIx64 ": %s", what, len,
		 addr, why[0] ? why : "not in dump");
	return -1;
}

int kpm_read_u64(struct kpm_target *t, uint64_t addr, uint64_t *val,
		 const char *what)
{
	unsigned char b[8];

	if (kpm_read(t, addr, b, 8, what))
		return -1;
	*val = kpm_get(b, 0, 8);
	return 0;
}

int kpm_read_u32(struct kpm_target *t, uint64_t addr, uint32_t *val,
		 const char *what)
{
	unsigned char b[4];

	if (kpm_read(t, addr, b, 4, what))
		return -1;
	*val = (uint32_t)kpm_get(b, 0, 4);
	return 0;
}

/* The unsigned long (or 64-bit) value of a global variable. */
int kpm_symbol_u64(struct kpm_target *t, const char *sym, uint64_t *val)
{
	uint64_t addr;

	if (t->ops->symbol(t, sym, &addr)) {
		kpm_errf(t, "no symbol %s", sym);
		return -1;
	}
	return kpm_read_u64(t, addr, val, sym);
}

int kpm_read_member(struct kpm_target *t, uint64_t base,
		    const struct kpm_member *m, uint64_t *val)
{
	unsigned char b[8];
	char what[96];

	if (!kpm_has(m) || m->size > 8) {
		kpm_errf(t, "%s.%s: not readable as an integer", m->type, m->name);
		return -1;
	}
	snprintf(what, sizeof(what), "%s.%s", m->type, m->name);
	if (kpm_read(t, base + m->off, b, m->size, what))
		return -1;
	*val = kpm_get(b, 0, m->size);
	return 0;
}

int kpm_kptr_ok(uint64_t p)
{
	/* Upper-half kernel address, 48 or 57 bits of VA (x86_64, arm64). */
	return p >= 0xff00000000000000ULL && p != ~0ULL;
}

static int list_next(struct kpm_target *t, uint64_t node, long next_off, uint64_t *next)
{
	return kpm_read_u64(t, node + next_off, next, "list entry");
}

long kpm_list_walk(struct kpm_target *t, uint64_t head, long next_off,
		   long max, kpm_list_fn fn, void *arg)
{
	uint64_t first, node, tortoise, hare;
	long n = 0, power = 1, lam = 0, mu = 0, i, distinct;
	int cyclic = 0, broken = 0;
	char why[KPM_ERRLEN] = "";

	if (kpm_read_u64(t, head + next_off, &first, "list head"))
		return -1;
	/*
	 * Pass 1 measures the list without visiting it: its length, or where
	 * it stops being readable, or (Brent) the length lam of a cycle that
	 * does not pass through the head.
	 */
	tortoise = node = first;
	while (node != head) {
		if (n >= max) {
			snprintf(why, sizeof(why), "stopped after %ld entries (limit)", max);
			break;
		}
		n++;
		if (list_next(t, node, next_off, &node)) {
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
		for (i = 0; i < lam && !list_next(t, hare, next_off, &hare); i++)
			;
		while (tortoise != hare && mu < max &&
		       !list_next(t, tortoise, next_off, &tortoise) &&
		       !list_next(t, hare, next_off, &hare))
			mu++;
		distinct = mu + lam;
		snprintf(why, sizeof(why), "cycle not through its head after %ld entries", distinct);
	} else if (broken) {
		snprintf(why, sizeof(why), "%s", t->err);
	}
	/* Pass 2 visits each distinct entry once. */
	for (node = first, i = 0; i < distinct; i++) {
		if (fn && fn(t, node, arg) < 0)
			return -1;
		if (i + 1 < distinct && list_next(t, node, next_off, &node))
			break;
	}
	if (why[0]) {
		kpm_errf(t, "list at %#" PRIx64 ": %s", head, why);
		return -1;
	}
	return distinct;
}

long kpm_report_mem(struct kpm_target *t, kpm_report_fn fn, const void *arg,
		    char **buf, size_t *len)
{
	FILE *mem;
	long ret;

	*buf = NULL;
	*len = 0;
	mem = open_memstream(buf, len);
	if (!mem) {
		kpm_errf(t, "open_memstream: out of memory");
		return -1;
	}
	ret = fn(t, mem, arg);
	fclose(mem);
	return ret;
}

/* JSON */

static void json_key(struct kpm_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->fp);
	j->first[j->depth] = 0;
	if (key)
		fprintf(j->fp, "\"%s\":", key);
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
	fputc(brace, j->fp);
	if (j->depth < 15)
		j->depth++;
	j->first[j->depth] = 1;
}

void kpm_json_end(struct kpm_json *j, char brace)
{
	fputc(brace, j->fp);
	if (j->depth > 0)
		j->depth--;
}

void kpm_json_u64(struct kpm_json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->fp, "%" PRIu64, v);
}

void kpm_json_i64(struct kpm_json *j, const char *key, int64_t v)
{
	json_key(j, key);
	fprintf(j->fp, "%" PRId64, v);
}

void kpm_json_hex(struct kpm_json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->fp, "\"%#" PRIx64 "\"", v);
}

void kpm_json_str(struct kpm_json *j, const char *key, const char *s)
{
	json_key(j, key);
	fputc('"', j->fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(j->fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(j->fp, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, j->fp);
	}
	fputc('"', j->fp);
}

void kpm_json_bool(struct kpm_json *j, const char *key, int v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->fp);
}

void kpm_json_close(struct kpm_json *j)
{
	fputc('\n', j->fp);
	fflush(j->fp);
}
