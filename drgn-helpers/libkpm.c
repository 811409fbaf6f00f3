// SPDX-License-Identifier: GPL-2.0
/*
 * libkpm.so: the decoder core for front ends that are not C (drgn's
 * Python).  The target is a table of callbacks supplied by the caller;
 * reports come back as malloc'd strings (free with kpm_free()).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "target.h"
#include "nvme.h"
#include "kmemleak.h"

struct kpm_callbacks {
	int (*read)(uint64_t addr, void *buf, size_t len);
	int (*symbol)(const char *name, uint64_t *addr);
	int (*member)(const char *type, const char *member, long *off, long *size);
	int (*member_bits)(const char *type, const char *member, long *bit_off, long *bit_size);
	long (*type_size)(const char *type);
	int (*enum_value)(const char *name, long *value);
	int (*percpu_offset)(int cpu, uint64_t *off);
	int (*symbol_at)(uint64_t addr, char *name, size_t len, uint64_t *off);
};

#define CB(t) ((const struct kpm_callbacks *)(t)->priv)

static int cb_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	if (CB(t)->read(addr, buf, len) == 0)
		return 0;
	kpm_errf(t, "page not in dump (excluded, or not mapped)");
	return -1;
}

static int cb_symbol(struct kpm_target *t, const char *name, uint64_t *addr)
{
	return CB(t)->symbol(name, addr);
}

static int cb_member(struct kpm_target *t, const char *type, const char *member,
		     long *off, long *size)
{
	return CB(t)->member(type, member, off, size);
}

static int cb_member_bits(struct kpm_target *t, const char *type, const char *member,
			  long *bit_off, long *bit_size)
{
	return CB(t)->member_bits(type, member, bit_off, bit_size);
}

static int cb_symbol_at(struct kpm_target *t, uint64_t addr, char *name, size_t len,
			uint64_t *off)
{
	return CB(t)->symbol_at(addr, name, len, off);
}

static long cb_type_size(struct kpm_target *t, const char *type)
{
	return CB(t)->type_size(type);
}

static int cb_enum_value(struct kpm_target *t, const char *name, long *value)
{
	return CB(t)->enum_value(name, value);
}

static int cb_percpu_offset(struct kpm_target *t, int cpu, uint64_t *off)
{
	return CB(t)->percpu_offset(cpu, off);
}

static const struct kpm_target_ops cb_ops = {
	.read = cb_read,
	.symbol = cb_symbol,
	.member = cb_member,
	.member_bits = cb_member_bits,
	.type_size = cb_type_size,
	.enum_value = cb_enum_value,
	.percpu_offset = cb_percpu_offset,
	.symbol_at = cb_symbol_at,
};

static void cb_target(struct kpm_target *t, const struct kpm_callbacks *cb)
{
	memset(t, 0, sizeof(*t));
	t->ops = &cb_ops;
	t->priv = (void *)cb;
}

static void copy_err(const struct kpm_target *t, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", t->err);
}

/* Run a report into a malloc'd string (*out); -1 with err on failure. */
static long report_str(const struct kpm_callbacks *cb, kpm_report_fn fn, const void *arg,
		       char **out, char *err, size_t errlen)
{
	struct kpm_target t;
	size_t len;
	long ret;

	cb_target(&t, cb);
	ret = kpm_report_mem(&t, fn, arg, out, &len);
	if (ret < 0)
		copy_err(&t, err, errlen);
	return ret;
}

static long nvme_report(struct kpm_target *t, FILE *fp, const void *flags)
{
	return kpm_nvme_report(t, fp, *(const unsigned int *)flags);
}

static long kmemleak_report(struct kpm_target *t, FILE *fp, const void *filter)
{
	return kpm_kmemleak_report(t, fp, filter);
}

/* Returns the number of bad completions, or -1 (err says why). */
int kpm_nvme_report_str(const struct kpm_callbacks *cb, unsigned int flags,
			char **out, char *err, size_t errlen)
{
	return report_str(cb, nvme_report, &flags, out, err, errlen);
}

long kpm_nvme_devs_cb(const struct kpm_callbacks *cb, uint64_t *devs, long max,
		      char *err, size_t errlen)
{
	struct kpm_target t;
	long n;

	cb_target(&t, cb);
	n = kpm_nvme_devs(&t, devs, max);
	copy_err(&t, err, errlen);
	return n;
}

long kpm_nvme_queues_cb(const struct kpm_callbacks *cb, uint64_t dev, uint64_t *queues,
			long max, char *err, size_t errlen)
{
	struct kpm_target t;
	long n;

	cb_target(&t, cb);
	n = kpm_nvme_queues(&t, dev, queues, max);
	copy_err(&t, err, errlen);
	return n;
}

/* kmemleak: flags as in core/kmemleak.h; returns objects shown or -1. */
long kpm_kmemleak_report_str(const struct kpm_callbacks *cb, unsigned int flags,
			     const char *comm, uint64_t min_size, uint64_t addr,
			     char **out, char *err, size_t errlen)
{
	struct kpm_kmemleak_filter f = { flags, comm, min_size, addr };

	return report_str(cb, kmemleak_report, &f, out, err, errlen);
}

long kpm_kmemleak_objects_cb(const struct kpm_callbacks *cb, uint64_t *objs, long max,
			     char *err, size_t errlen)
{
	struct kpm_target t;
	long n;

	cb_target(&t, cb);
	n = kpm_kmemleak_objects(&t, objs, max);
	copy_err(&t, err, errlen);
	return n;
}

void kpm_free(char *p)
{
	free(p);
}
