// SPDX-License-Identifier: GPL-2.0
/*
 * libkpm.so: the decoder core for front ends that are not C (drgn's
 * Python).  The target is a table of callbacks supplied by the caller;
 * everything else (which decoders exist, their options, help and object
 * iterators) comes from the core's registry, so the Python side copies no
 * flag or option by hand.  Strings come back malloc'd (free with
 * kpm_free()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "target.h"
#include "kpm.h"
#include "dumpfile.h"

struct kpm_callbacks {
	int (*read)(uint64_t addr, void *buf, size_t len);
	int (*symbol)(const char *name, uint64_t *addr);
	/* off, size, bit_off, bit_size */
	int (*member)(const char *type, const char *member, long *layout);
	long (*type_size)(const char *type);
	int (*enum_value)(const char *name, long *value);
	int (*symbol_at)(uint64_t addr, char *name, size_t len, uint64_t *off);
	const char *arch;	/* the program's platform: "X86_64", "AARCH64" */
	const char *dumpfile;	/* the dump's file (its erase info), or NULL */
};

#define CB(t) ((const struct kpm_callbacks *)(t)->priv)

static int cb_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	return CB(t)->read(addr, buf, len);
}

static int cb_symbol(struct kpm_target *t, const char *name, uint64_t *addr)
{
	return CB(t)->symbol(name, addr);
}

static int cb_member(struct kpm_target *t, const char *type, const char *member,
		     struct kpm_layout *out)
{
	long l[4] = { 0 };

	if (CB(t)->member(type, member, l))
		return -1;
	out->off = l[0];
	out->size = l[1];
	out->bit_off = l[2];
	out->bit_size = l[3];
	return 0;
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

static const struct kpm_target_ops cb_ops = {
	.read = cb_read,
	.symbol = cb_symbol,
	.member = cb_member,
	.type_size = cb_type_size,
	.enum_value = cb_enum_value,
	.symbol_at = cb_symbol_at,
};

static void copy_err(const struct kpm_target *t, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", t->err);
}

static const struct kpm_decoder *find_decoder(int argc, char *const *argv, char *err,
					      size_t errlen)
{
	const struct kpm_decoder *d = argc > 0 ? kpm_decoder(argv[0]) : NULL;

	if (!d)
		snprintf(err, errlen, "no command %s", argc > 0 ? argv[0] : "");
	return d;
}

/* A target of @cb's for one command (kpm_target_done() after). */
static void target_of(struct kpm_target *t, const struct kpm_callbacks *cb)
{
	kpm_target_init(t, &cb_ops, (void *)cb);
	kpm_target_set_arch(t, cb->arch);
}

/* ... for a report: a filtered dump's erase info is said to be erased */
static void report_target_of(struct kpm_target *t, const struct kpm_callbacks *cb)
{
	target_of(t, cb);
	if (cb->dumpfile)
		kpm_target_set_eraseinfo(t, kpm_dumpfile_eraseinfo(cb->dumpfile));
}

/* The report's result, with its error copied out when it failed. */
static long report_done(struct kpm_target *t, long ret, char *err, size_t errlen)
{
	if (ret < 0)
		copy_err(t, err, errlen);
	kpm_target_done(t);
	return ret;
}

/*
 * Run a command (argv[0] is its name) into a malloc'd string (*out).
 * Returns the report's result, -1 (failed) or -2 (bad arguments) with err.
 */
long kpm_run_str(const struct kpm_callbacks *cb, int argc, char *const *argv, char **out,
		 char *err, size_t errlen)
{
	const struct kpm_decoder *d = find_decoder(argc, argv, err, errlen);
	struct kpm_target t;
	size_t len;

	*out = NULL;
	if (!d)
		return -2;
	report_target_of(&t, cb);
	return report_done(&t, kpm_run_mem(&t, d, argc, argv, out, &len), err, errlen);
}

/*
 * Run a command writing to file descriptor @fd as it goes, as crash and
 * kpm-dump do: a report of a million objects is a gigabyte of text that a
 * string would hold whole (and Python copy again).  Returns as
 * kpm_run_str(); what was written before a failure stays written.
 */
long kpm_run_fd(const struct kpm_callbacks *cb, int argc, char *const *argv, int fd,
		char *err, size_t errlen)
{
	const struct kpm_decoder *d = find_decoder(argc, argv, err, errlen);
	struct kpm_target t;
	int dfd;
	FILE *fp;
	long ret;

	if (!d)
		return -2;
	dfd = dup(fd);
	fp = dfd >= 0 ? fdopen(dfd, "w") : NULL;
	if (!fp) {
		snprintf(err, errlen, "cannot write to file descriptor %d: %s", fd, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	report_target_of(&t, cb);
	ret = report_done(&t, kpm_run(&t, fp, d, argc, argv), err, errlen);
	if (fclose(fp) && ret >= 0) {
		snprintf(err, errlen, "write: %s", strerror(errno));
		ret = -1;
	}
	return ret;
}

static char *render(void (*fn)(FILE *, const struct kpm_decoder *, const char *),
		    const char *name, const char *prefix)
{
	const struct kpm_decoder *d = kpm_decoder(name);
	char *buf = NULL;
	size_t len;
	FILE *fp;

	if (!d || !(fp = open_memstream(&buf, &len)))
		return NULL;
	fn(fp, d, prefix);
	fclose(fp);
	return buf;
}

char *kpm_help_str(const char *name, const char *prefix)
{
	return render(kpm_help, name, prefix);
}

char *kpm_usage_str(const char *name, const char *prefix)
{
	return render(kpm_usage, name, prefix);
}

/* "name\tsummary\n" for every decoder */
char *kpm_list_str(void)
{
	const struct kpm_decoder *const *d;
	char *buf = NULL;
	size_t len;
	FILE *fp = open_memstream(&buf, &len);

	if (!fp)
		return NULL;
	for (d = kpm_decoders(); *d; d++)
		fprintf(fp, "%s\t%s\n", (*d)->name, (*d)->summary);
	fclose(fp);
	return buf;
}

/* "kind\tctype\tparent\n" for each object iterator of a decoder */
char *kpm_objects_str(const char *name)
{
	const struct kpm_decoder *d = kpm_decoder(name);
	const struct kpm_objects *o;
	char *buf = NULL;
	size_t len;
	FILE *fp;

	if (!d || !(fp = open_memstream(&buf, &len)))
		return NULL;
	for (o = d->objects; o && o->kind; o++)
		fprintf(fp, "%s\t%s\t%s\n", o->kind, o->ctype, o->parent ? o->parent : "");
	fclose(fp);
	return buf;
}

/*
 * Addresses of a decoder's objects of one kind: the count that exists (the
 * caller asks again with a larger array when it exceeds max), or -1 with
 * err.  A walk that stopped early returns what it found with err set.
 */
long kpm_objects_cb(const struct kpm_callbacks *cb, const char *name, const char *kind,
		    uint64_t parent, uint64_t *out, long max, char *err, size_t errlen)
{
	const struct kpm_decoder *d = kpm_decoder(name);
	const struct kpm_objects *o;
	struct kpm_target t;
	long n;

	err[0] = 0;
	for (o = d ? d->objects : NULL; o && o->kind; o++)
		if (!strcmp(o->kind, kind))
			break;
	if (!o || !o->kind) {
		snprintf(err, errlen, "%s has no objects of kind %s", name, kind);
		return -1;
	}
	target_of(&t, cb);
	n = o->fn(&t, parent, out, max);
	copy_err(&t, err, errlen);
	kpm_target_done(&t);
	return n;
}

void kpm_free(char *p)
{
	free(p);
}
