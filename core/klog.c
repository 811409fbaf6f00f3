// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder: klog, the kernel log from the lockless printk ring buffer
 * (v5.10+), printed the way crash's `log` prints it, or as JSON.
 *
 * The records come from kpm_log_walk() (core/printk.c): every committed or
 * finalized record from the descriptor ring's tail to its head.  Text
 * lines are crash's (8.0.2 to 8.0.6, printk.c dump_record() without
 * -m/-d/-T/-t/-c): "[%5llu.%06lu] " then the text, a newline inside it
 * followed by as many spaces as the timestamp took, bytes that are neither
 * printable ASCII nor white space printed as '.'.
 *
 * Where klog differs from crash: a record without a data block (an empty
 * line: lpos 0x3/0x3; printk() always reserves at least one byte, so it
 * does not make them) gets its timestamp, where crash prints a bare
 * newline; a record whose text the kernel could not store (FAILED_LPOS)
 * or that cannot be read is not printed (crash prints an empty line, or
 * whatever the bytes are), and a last line says how many were lost.
 */
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"
#include "printk.h"

struct klog_ctx {
	FILE *fp;
	struct kpm_json *j;	/* NULL: text */
	long skip;		/* records before the last -n */
	long seen;
	long printed;
};

static void json_record(struct kpm_json *j, const struct kpm_log_record *r)
{
	kpm_json_begin(j, NULL, '{');
	kpm_json_u64(j, "seq", r->seq);
	kpm_json_u64(j, "ts_nsec", r->ts_nsec);
	kpm_json_i64(j, "level", r->level);
	kpm_json_i64(j, "facility", r->facility);
	kpm_json_u64(j, "caller_id", r->caller_id);
	/* the text is NUL-terminated after len bytes; a NUL inside ends it */
	kpm_json_str(j, "text", r->text);
	kpm_json_end(j, '}');
}

static int klog_one(struct kpm_target *t, const struct kpm_log_record *r, void *arg)
{
	struct klog_ctx *x = arg;

	if (x->seen++ < x->skip)
		return 0;
	if (x->j)
		json_record(x->j, r);
	else
		kpm_log_print(x->fp, "", r);
	x->printed++;
	return 0;
}

static int klog_count(struct kpm_target *t, const struct kpm_log_record *r, void *arg)
{
	(*(long *)arg)++;
	return 0;
}

static int klog_applies(struct kpm_target *t)
{
	uint64_t prb;

	if (t->ops->symbol(t, "prb", &prb)) {
		kpm_errf(t, "no symbol prb: this kernel has no lockless printk ring buffer (before 5.10)");
		return -1;
	}
	return 0;
}

static long klog_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	struct klog_ctx x = { .fp = fp };
	struct kpm_json j;
	char lost_err[KPM_ERRLEN];
	long total = 0, lost = 0, n;

	if (klog_applies(t))
		return -1;
	if (kpm_opt_given(a, 'n')) {
		uint64_t want = kpm_opt_num(a, 'n');

		/* the last N: count first (the windows make a second pass cheap) */
		if (kpm_log_walk(t, klog_count, &total) < 0)
			return -1;
		x.skip = want >= (uint64_t)total ? 0 : total - (long)want;
	}
	if (kpm_opt_given(a, 'j')) {
		kpm_json_open(&j, fp);
		kpm_json_begin(&j, NULL, '{');
		kpm_json_begin(&j, "records", '[');
		x.j = &j;
	}
	n = kpm_log_walk_lost(t, klog_one, &x, &lost);
	if (n < 0)
		return -1;
	snprintf(lost_err, sizeof(lost_err), "%s", t->err);
	if (x.j) {
		kpm_json_end(&j, ']');
		kpm_json_i64(&j, "lost", lost);
		if (lost_err[0])
			kpm_json_str(&j, "error", lost_err);
		kpm_json_end(&j, '}');
		kpm_json_close(&j);
	} else if (lost_err[0]) {
		fprintf(fp, "klog: %s\n", lost_err);
	}
	return x.printed;
}

static const char *const klog_help[] = {
	"  Prints the kernel log from the lockless printk ring buffer (prb, Linux",
	"  5.10 and later) the way crash's \"log\" command prints it: each record",
	"  that is committed or finalized, from the oldest to the newest, with its",
	"  timestamp.  Every layout comes from the dump's debug info; the ring's",
	"  sizes, descriptor ids and text block positions are checked the way the",
	"  kernel's own reader checks them, so a damaged ring loses the records",
	"  it damaged and no more: a descriptor whose id does not match, a text",
	"  block that is invalid or was overwritten, a page missing from the dump.",
	"  A last line says how many records were lost, and why.",
	"",
	"    -n  only the last count records.",
	"    -j  JSON: {\"records\": [{\"seq\", \"ts_nsec\", \"level\", \"facility\",",
	"        \"caller_id\", \"text\"}, ...], \"lost\": n}; all but text are struct",
	"        printk_info's members.",
	"",
	"  Differences from crash's log: a record without a data block (an empty",
	"  line) is printed with its timestamp, where crash prints a bare newline;",
	"  a record whose text is lost is left out, where crash prints an empty",
	"  line or whatever bytes are there.",
	"\nEXAMPLE",
	"  The kernel log of a dump taken when the nvme driver panicked, from the",
	"  panic on:",
	"",
	"    crash> klog -n 29",
	"    [    5.194968] Kernel panic - not syncing: nvme: invalid completion id 0xc000 on queue 2",
	"    [    5.195257] CPU: 0 PID: 62 Comm: insmod Kdump: loaded Tainted: G           O       6.1.192-kpm #2 ",
	"    [    5.195548] Call Trace:",
	"    [    5.195632]  <TASK>",
	"    [    5.195691]  dump_stack_lvl+0x3a/0x4c",
	"    [    5.196045]  dump_stack+0x10/0x12",
	"    [    5.196080]  panic+0xfc/0x28c",
	"    [    5.196113]  nvme_poll_cq+0x1d1/0x2e5 [nvme]",
	"    [    5.196400]  nvme_irq+0x24/0x43 [nvme]",
	"    [    5.196453]  kpm_inject_init+0x35a/0x1000 [kpm_nvme_double_cqe]",
	"    ...",
	"",
	"  The last record as JSON:",
	"",
	"    crash> klog -n 1 -j",
	"    {\"records\":[{\"seq\":264,\"ts_nsec\":5197902235,\"level\":4,\"facility\":0,\"caller_id\":62,\"text\":\" </TASK>\"}],\"lost\":0}",
	NULL
};

static const struct kpm_opt klog_opts[] = {
	{ 'n', KPM_OPT_NUM, "count", "only the last count records" },
	{ 'j', KPM_OPT_FLAG, NULL, "JSON" },
	{ 0 }
};

KPM_DECODER(klog_decoder) = {
	.name = "klog",
	.summary = "the kernel log, from the printk ring buffer, as crash's log prints it",
	.synopsis = "[-n count] [-j]",
	.help = klog_help,
	.opts = klog_opts,
	.posargs = NULL,
	.triage_order = 0,
	.applies = klog_applies,
	.report = klog_report,
	.triage = NULL,
	.objects = NULL,
};
