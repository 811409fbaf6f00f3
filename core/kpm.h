/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpm decoder core: the decoder registry, the one option parser, and the
 * triage collector.
 *
 * A decoder declares itself once, in its own core/<name>.c, with
 * KPM_DECODER(): name, summary, help (crash's help_x[] layout), options,
 * an applicability probe, its report, its triage entry and its object
 * iterators.  crash registers one command per descriptor, kpm-dump
 * dispatches on it, the drgn package runs it by name: no front end knows a
 * decoder's options or flags.
 */
#ifndef KPM_KPM_H
#define KPM_KPM_H

#include "target.h"

enum kpm_opt_kind {
	KPM_OPT_FLAG,		/* -x */
	KPM_OPT_NUM,		/* -s N: decimal, or hex with 0x */
	KPM_OPT_ADDR,		/* -a A: hex, with or without 0x */
	KPM_OPT_STR,		/* -c S */
};

struct kpm_opt {
	char letter;
	enum kpm_opt_kind kind;
	const char *arg;	/* name of the argument in usage ("comm") */
	const char *help;	/* one line */
};

#define KPM_MAX_OPTS	24
#define KPM_MAX_POS	32

struct kpm_decoder;

/* Parsed arguments of one command. */
struct kpm_args {
	const struct kpm_decoder *d;
	unsigned int set;		/* bit i: opts[i] was given */
	uint64_t num[KPM_MAX_OPTS];	/* NUM and ADDR values */
	const char *str[KPM_MAX_OPTS];	/* STR values */
	int npos;
	const char *pos[KPM_MAX_POS];	/* positional arguments */
};

int kpm_opt_given(const struct kpm_args *a, char letter);
uint64_t kpm_opt_num(const struct kpm_args *a, char letter);
const char *kpm_opt_str(const struct kpm_args *a, char letter);

struct kpm_triage;

/* Object iterators for drgn: addresses of objects of one kind. */
struct kpm_objects {
	const char *kind;	/* "dev" */
	const char *ctype;	/* "struct nvme_dev *": what drgn makes of each */
	const char *parent;	/* kind whose address is passed as @parent, or NULL */
	/*
	 * Store up to @max addresses, return how many exist (a caller with
	 * too small an array asks again), or -1 with t->err.  A walk that
	 * stopped early returns what it found and leaves t->err set.
	 */
	long (*fn)(struct kpm_target *t, uint64_t parent, uint64_t *out, long max);
};

struct kpm_decoder {
	const char *name;
	const char *summary;		/* one line */
	const char *synopsis;		/* options, as crash prints after the name */
	const char *const *help;	/* description and EXAMPLE lines, NULL-terminated */
	const struct kpm_opt *opts;	/* { 0 }-terminated */
	const char *posargs;		/* NULL: no positional arguments; else their name */
	int triage_order;		/* 0: not part of triage */
	/* 0, or -1 with t->err saying why this kernel has nothing to decode. */
	int (*applies)(struct kpm_target *t);
	/* The command: >= 0, or -1 with t->err; -2 with t->err: bad arguments. */
	long (*report)(struct kpm_target *t, FILE *fp, const struct kpm_args *a);
	/* Diagnosis for triage: 0, or -1 with t->err (failed). */
	int (*triage)(struct kpm_target *t, struct kpm_triage *tr);
	const struct kpm_objects *objects;	/* { 0 }-terminated, or NULL */
};

/*
 * Registration: a pointer to each descriptor goes into the kpm_decoders
 * section, so that adding a decoder is adding its file.
 */
#define KPM_DECODER(var)							\
	static const struct kpm_decoder var;					\
	static const struct kpm_decoder *const var##_reg			\
		__attribute__((used, section("kpm_decoder_set"))) = &var;		\
	static const struct kpm_decoder var

/* Every decoder, sorted by name; NULL-terminated. */
const struct kpm_decoder *const *kpm_decoders(void);
const struct kpm_decoder *kpm_decoder(const char *name);

/*
 * Parse argv (argv[0] is the command name) the same way in every front
 * end: getopt-style flags (-lx), an option's argument attached (-s64) or
 * next (-s 64), "--" ends options.  Returns 0, or -1 with @err set to one
 * line naming the option and what is wrong (never a silent default).
 */
int kpm_parse_args(const struct kpm_decoder *d, int argc, char *const *argv,
		   struct kpm_args *a, char *err, size_t errlen);
/* "nvmeq [-c | -C] [-s] [-j]" */
void kpm_usage(FILE *fp, const struct kpm_decoder *d, const char *prefix);
/* NAME, SYNOPSIS, DESCRIPTION and EXAMPLE, as crash's help prints them. */
void kpm_help(FILE *fp, const struct kpm_decoder *d, const char *prefix);
/* crash's help_x[] for a descriptor (malloc'd array, strings borrowed). */
char **kpm_crash_help(const struct kpm_decoder *d);

/*
 * Run one command: parse, then report.  Returns the report's result,
 * -1 with t->err when it failed, -2 with t->err when argv is wrong (the
 * front end then prints the error and the usage).
 */
long kpm_run(struct kpm_target *t, FILE *fp, const struct kpm_decoder *d,
	     int argc, char *const *argv);
/*
 * The same into a malloc'd buffer (*buf, *len; free() it), for front ends
 * whose output stream is unbuffered (crash's fp) or that want a string
 * (drgn).  *buf holds what was printed even when the command failed.
 */
long kpm_run_mem(struct kpm_target *t, const struct kpm_decoder *d, int argc,
		 char *const *argv, char **buf, size_t *len);

/*
 * Triage: what a decoder's triage entry reports.  A finding is one line
 * saying what is wrong and where, detail lines, and structured data for
 * the JSON document (written with the kpm_json returned by
 * kpm_tr_data(), inside the finding's "data" object).
 */
void kpm_tr_finding(struct kpm_triage *tr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kpm_tr_detail(struct kpm_triage *tr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct kpm_json *kpm_tr_data(struct kpm_triage *tr);
/* Something could not be read: the status becomes "partial". */
void kpm_tr_partial(struct kpm_triage *tr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One line of context ("1 controller, 3 queues"). */
void kpm_tr_info(struct kpm_triage *tr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Whether raw memory (hex dumps) may go into the findings (-x). */
int kpm_tr_raw(const struct kpm_triage *tr);

/*
 * A decoder's diagnosis, written once and rendered where it goes: each
 * finding is one line (first != 0) followed by its detail lines.  The same
 * diagnose() of a decoder then serves its text report ("  finding",
 * "    detail"), its -j ({"finding": ..., "details": [...]} objects, inside
 * an array the caller opened) and its triage entry (kpm_tr_finding and
 * kpm_tr_detail), or only counts.
 */
enum kpm_diag_kind { KPM_DIAG_COUNT, KPM_DIAG_TEXT, KPM_DIAG_JSON, KPM_DIAG_TRIAGE };
struct kpm_diag {
	enum kpm_diag_kind kind;
	FILE *fp;			/* TEXT */
	struct kpm_json *j;		/* JSON */
	struct kpm_triage *tr;		/* TRIAGE */
	int open;			/* JSON: a finding's object is open */
	long n;				/* findings so far */
};
void kpm_diag(struct kpm_diag *d, int first, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* JSON: close the last finding's object. */
void kpm_diag_end(struct kpm_diag *d);
/* TRIAGE: the last finding's "data" writer (kpm_tr_data()); else NULL. */
struct kpm_json *kpm_diag_data(struct kpm_diag *d);

#define KPM_TRIAGE_SCHEMA	1

#endif
