/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpm decoder core: the kernel log, read from the lockless printk ring
 * buffer (kernel/printk/printk_ringbuffer.[ch], v5.10+), and the facts a
 * triage header states about the kernel: release, version, taint, and
 * which CPU and task panicked.
 */
#ifndef KPM_PRINTK_H
#define KPM_PRINTK_H

#include "target.h"

/* One record of the log, as struct printk_info and its text block hold it. */
struct kpm_log_record {
	uint64_t seq, ts_nsec;
	int level, facility;
	uint32_t caller_id;	/* bit 31: CPU number, else thread id */
	const char *text;	/* len bytes, NUL-terminated after them */
	size_t len;
};

/*
 * Called for each record, oldest first; @r and its text are valid for the
 * call only.  Return 0 to go on, > 0 to stop (the walk returns the records
 * seen so far), < 0 to fail (the walk returns -1; fn sets t->err).
 */
typedef int (*kpm_log_fn)(struct kpm_target *t, const struct kpm_log_record *r, void *arg);

/*
 * Every committed or finalized record from the descriptor ring's tail to
 * its head, as the kernel's and crash's readers print them.  Returns the
 * number of records passed to fn, or -1 with t->err when the ring itself
 * cannot be read.  A record that cannot be read (a page not in the dump,
 * a descriptor whose id does not match, a text block that is invalid,
 * lost or overwritten, a record still being written) is skipped and
 * counted: t->err then says how many were lost and why, and is empty when
 * none was.  *lost (may be NULL) gets that count.
 */
long kpm_log_walk(struct kpm_target *t, kpm_log_fn fn, void *arg);
long kpm_log_walk_lost(struct kpm_target *t, kpm_log_fn fn, void *arg, long *lost);

/* One record as crash's `log` prints it, each line after @indent. */
void kpm_log_print(FILE *fp, const char *indent, const struct kpm_log_record *r);

/* init_uts_ns.name.release ("6.1.192-kpm"): 0, or -1 with t->err. */
int kpm_kernel_release(struct kpm_target *t, char *buf, size_t len);
/* init_uts_ns.name.version ("#1 SMP PREEMPT_DYNAMIC ..."): 0, or -1. */
int kpm_kernel_version(struct kpm_target *t, char *buf, size_t len);

/*
 * tainted_mask, and the letters of its set flags from the kernel's own
 * taint_flags[] (c_true), in bit order: "O" for TAINT_OOT_MODULE, "" when
 * not tainted.  The kernel's "Tainted: " string also prints c_false for
 * clear flags ('G' for a kernel without proprietary modules, else ' ').
 * Returns 0; -1 with t->err when tainted_mask cannot be read, or when
 * taint_flags[] cannot (then *mask is set and letters is "").
 */
int kpm_taint(struct kpm_target *t, uint64_t *mask, char *letters, size_t len);

/*
 * The CPU that panicked (panic_cpu; on x86 crashing_cpu when the kernel
 * went to kdump without panic(), from an oops) and the task current on it
 * (its runqueue's curr): task_struct address, pid and comm.  Returns 0;
 * -1 with t->err when the dump does not say (no panic: both are -1), or
 * when the task cannot be read (then *cpu is set, *task is 0, *pid -1).
 */
int kpm_panic_info(struct kpm_target *t, int *cpu, uint64_t *task, int *pid,
		   char *comm, size_t commlen);

#endif
