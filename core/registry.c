// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder core: the decoder registry and the one option parser every
 * front end uses, so that the same input is accepted, or refused with the
 * same words, in crash, drgn and kpm-dump.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"

/* The linker collects every KPM_DECODER() into this section. */
extern const struct kpm_decoder *const __start_kpm_decoder_set[] __attribute__((visibility("hidden")));
extern const struct kpm_decoder *const __stop_kpm_decoder_set[] __attribute__((visibility("hidden")));

static const struct kpm_decoder **sorted;

static int cmp_decoder(const void *a, const void *b)
{
	return strcmp((*(const struct kpm_decoder *const *)a)->name,
		      (*(const struct kpm_decoder *const *)b)->name);
}

const struct kpm_decoder *const *kpm_decoders(void)
{
	size_t n = __stop_kpm_decoder_set - __start_kpm_decoder_set;

	static const struct kpm_decoder *const none[] = { NULL };

	if (!sorted) {
		const struct kpm_decoder **s = calloc(n + 1, sizeof(*s));

		if (!s)
			return none;	/* out of memory: no commands, never an unterminated list */
		memcpy(s, __start_kpm_decoder_set, n * sizeof(*s));
		qsort(s, n, sizeof(*s), cmp_decoder);
		sorted = s;
	}
	return sorted;
}

const struct kpm_decoder *kpm_decoder(const char *name)
{
	const struct kpm_decoder *const *d;

	for (d = kpm_decoders(); *d; d++)
		if (!strcmp((*d)->name, name))
			return *d;
	return NULL;
}

/* Arguments */

static int opt_index(const struct kpm_decoder *d, char letter)
{
	int i;

	for (i = 0; d->opts && d->opts[i].letter && i < KPM_MAX_OPTS; i++)
		if (d->opts[i].letter == letter)
			return i;
	return -1;
}

int kpm_opt_given(const struct kpm_args *a, char letter)
{
	int i = opt_index(a->d, letter);

	return i >= 0 && (a->set >> i) & 1;
}

uint64_t kpm_opt_num(const struct kpm_args *a, char letter)
{
	int i = opt_index(a->d, letter);

	return i >= 0 && (a->set >> i) & 1 ? a->num[i] : 0;
}

const char *kpm_opt_str(const struct kpm_args *a, char letter)
{
	int i = opt_index(a->d, letter);

	return i >= 0 && (a->set >> i) & 1 ? a->str[i] : NULL;
}

static int digit(char c, int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

/* All of @s in @base: 0, 1 (not a number) or 2 (too large). */
static int parse_digits(const char *s, int base, uint64_t *v)
{
	uint64_t n = 0;
	int d;

	if (!*s)
		return 1;
	for (; *s; s++) {
		d = digit(*s, base);
		if (d < 0)
			return 1;
		if (n > (UINT64_MAX - d) / base)
			return 2;
		n = n * base + d;
	}
	*v = n;
	return 0;
}

static int parse_value(const struct kpm_opt *o, const char *s, uint64_t *v, char *err,
		       size_t errlen)
{
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	int r;

	if (o->kind == KPM_OPT_NUM) {
		/* decimal (a leading 0 is not octal), or hex with 0x */
		r = parse_digits(hex ? s + 2 : s, hex ? 16 : 10, v);
		if (r == 1)
			snprintf(err, errlen, "-%c: invalid number '%s' (decimal, or hexadecimal with 0x)",
				 o->letter, s);
	} else {
		/* an address: hex, with or without 0x */
		r = parse_digits(hex ? s + 2 : s, 16, v);
		if (r == 1)
			snprintf(err, errlen, "-%c: invalid address '%s' (hexadecimal)", o->letter, s);
	}
	if (r == 2)
		snprintf(err, errlen, "-%c: '%s' is out of range (64 bits)", o->letter, s);
	return r ? -1 : 0;
}

int kpm_parse_args(const struct kpm_decoder *d, int argc, char *const *argv,
		   struct kpm_args *a, char *err, size_t errlen)
{
	int i, k, only_pos = 0;

	memset(a, 0, sizeof(*a));
	a->d = d;
	err[0] = 0;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (only_pos || arg[0] != '-' || !arg[1]) {
			if (!d->posargs) {
				snprintf(err, errlen, "unexpected argument '%s'", arg);
				return -1;
			}
			if (a->npos == KPM_MAX_POS) {
				snprintf(err, errlen, "more than %d arguments", KPM_MAX_POS);
				return -1;
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			only_pos = 1;
			continue;
		}
		for (k = 1; arg[k]; k++) {
			int o = opt_index(d, arg[k]);
			const struct kpm_opt *opt;
			const char *val;

			if (o < 0) {
				if (arg[k] == '-')
					snprintf(err, errlen, "invalid option '%s'", arg);
				else
					snprintf(err, errlen, "invalid option -%c", arg[k]);
				return -1;
			}
			opt = &d->opts[o];
			a->set |= 1u << o;
			if (opt->kind == KPM_OPT_FLAG)
				continue;
			/* the rest of this word, or the next word */
			if (arg[k + 1]) {
				val = arg + k + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				snprintf(err, errlen, "option -%c requires an argument (%s)",
					 opt->letter, opt->arg ? opt->arg : "value");
				return -1;
			}
			if (opt->kind == KPM_OPT_STR)
				a->str[o] = val;
			else if (parse_value(opt, val, &a->num[o], err, errlen))
				return -1;
			break;
		}
	}
	return 0;
}

/* Help */

void kpm_usage(FILE *fp, const struct kpm_decoder *d, const char *prefix)
{
	fprintf(fp, "Usage: %s%s %s\n", prefix ? prefix : "", d->name,
		d->synopsis ? d->synopsis : "");
}

void kpm_help(FILE *fp, const struct kpm_decoder *d, const char *prefix)
{
	const char *const *l;

	fprintf(fp, "NAME\n  %s - %s\n\nSYNOPSIS\n  %s%s %s\n\nDESCRIPTION\n", d->name,
		d->summary, prefix ? prefix : "", d->name, d->synopsis ? d->synopsis : "");
	for (l = d->help; l && *l; l++)
		fprintf(fp, "%s\n", *l);
}

char **kpm_crash_help(const struct kpm_decoder *d)
{
	size_t n = 0, i;
	char **h;

	while (d->help && d->help[n])
		n++;
	h = calloc(n + 4, sizeof(*h));
	if (!h)
		return NULL;
	h[0] = (char *)d->name;
	h[1] = (char *)d->summary;
	h[2] = (char *)(d->synopsis ? d->synopsis : "");
	for (i = 0; i < n; i++)
		h[3 + i] = (char *)d->help[i];
	return h;
}

long kpm_run(struct kpm_target *t, FILE *fp, const struct kpm_decoder *d,
	     int argc, char *const *argv)
{
	struct kpm_args a;
	char err[KPM_ERRLEN];

	if (kpm_parse_args(d, argc, argv, &a, err, sizeof(err))) {
		kpm_errf(t, "%s", err);
		return -2;
	}
	t->err[0] = 0;
	return d->report(t, fp, &a);
}

long kpm_run_mem(struct kpm_target *t, const struct kpm_decoder *d, int argc,
		 char *const *argv, char **buf, size_t *len)
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
	ret = kpm_run(t, mem, d, argc, argv);
	fclose(mem);
	return ret;
}
