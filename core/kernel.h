/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpm decoder core: facts about the kernel in the dump that every decoder
 * may need (loaded modules and their text, possible CPUs and their per-CPU
 * offsets, symbolized addresses), the generic walks (red-black trees,
 * hlists, xarrays, IDRs) and output helpers.  Facts are read once per
 * target and cached in it (kpm_target_done() frees them).
 */
#ifndef KPM_KERNEL_H
#define KPM_KERNEL_H

#include "target.h"

/* Loaded modules (the `modules` list): name and core text range. */
struct kpm_module {
	uint64_t addr;		/* struct module */
	uint64_t base, size;	/* text: mem[MOD_TEXT] (6.4+) or core_layout */
	char name[64];
};

/*
 * The module list, read once; *err (may be NULL) tells why it is
 * incomplete.  Returns the number of modules (0 when there is no list).
 */
long kpm_modules(struct kpm_target *t, const struct kpm_module **mods, const char **err);
/*
 * The address of @sym, a symbol of a module (@what: "the nvme (PCI)
 * driver"): 0, or -1 with t->err saying that the module is not loaded, or
 * that the module list cannot be read so that nobody can tell.
 */
int kpm_module_symbol(struct kpm_target *t, const char *sym, const char *what, uint64_t *addr);
const struct kpm_module *kpm_module_of(struct kpm_target *t, uint64_t addr);

/*
 * Possible CPUs (__cpu_possible_mask, bounded by nr_cpu_ids) and each
 * one's __per_cpu_offset, read from the dump, not from the debugger's idea
 * of how many CPUs there are.  Returns the count, or -1 (t->err).
 */
long kpm_possible_cpus(struct kpm_target *t, const int **cpus, const uint64_t **offsets);
/* __per_cpu_offset[cpu] (0 on a kernel without SMP): 0, or -1. */
int kpm_percpu_offset(struct kpm_target *t, int cpu, uint64_t *off);

/*
 * Every process (thread group leader) on init_task.tasks, init_task itself
 * not included: fn gets each task_struct's address.  Bounded at @max and
 * loop-checked like kpm_list_walk(), which it is.  Returns the count, or -1
 * with t->err saying where it stopped.
 */
long kpm_task_walk(struct kpm_target *t, long max, kpm_list_fn fn, void *arg);
/* A task's pid and comm (comm: at least 16 bytes): 0, or -1. */
/*
 * A kernel release ("6.1.192-kpm", kpm_kernel_release()) as
 * KPM_KERNEL_VERSION(6, 1, 192), LINUX_VERSION_CODE's encoding; 0 when it
 * does not parse.  For facts debug info cannot give (flag bits from
 * #defines), which decoders name by the kernel versions they hold for.
 */
#define KPM_KERNEL_VERSION(a, b, c)	(((a) << 16) + ((b) << 8) + (c))
int kpm_version_code(const char *release);

/* The task running on @cpu (runqueues.curr): 0, or -1 with t->err. */
int kpm_cpu_curr(struct kpm_target *t, int cpu, uint64_t *task);

/* A task's scheduler state, with the letter ps and crash's ps print. */
struct kpm_task_state {
	uint64_t state;		/* __state (state before v5.14) */
	uint64_t exit_state;
	int on_cpu;		/* running on a CPU (CONFIG_SMP) */
	int cpu;		/* the CPU it last ran on, -1 unknown */
	char letter;		/* R S D I T t P X Z, ? */
};
int kpm_task_state(struct kpm_target *t, uint64_t task, struct kpm_task_state *s);
int kpm_task_ident(struct kpm_target *t, uint64_t task, int *pid, char *comm, size_t commlen);
/*
 * Every open file of a task (files->fdt->fd[0..max_fds)): fn gets the fd
 * number and the struct file address.  Bounded at @max_fds; a page of the
 * fd array that cannot be read is skipped and counted in *unreadable.
 * Returns the number of open files, or -1 with t->err (no files_struct
 * is not an error: 0).
 */
typedef int (*kpm_fd_fn)(struct kpm_target *t, uint64_t task, unsigned int fd,
			 uint64_t file, void *arg);
long kpm_task_files(struct kpm_target *t, uint64_t task, unsigned int max_fds,
		    kpm_fd_fn fn, void *arg, long *unreadable);
/*
 * Names of an enum the decoder knows by name, valued from the kernel's
 * debug info: vals[i] is the value of enumerator PREFIX + names[i], -1
 * when the debug info lacks it.  Returns how many were found.
 */
unsigned int kpm_enum_table(struct kpm_target *t, const char *prefix, const char *const *names,
			    long *vals, unsigned int n);
/* names[i] of the first vals[i] == @v, or NULL. */
const char *kpm_enum_name(const long *vals, const char *const *names, unsigned int n, long v);
/* An address named the way the kernel's %pS names it. */
struct kpm_frame {
	uint64_t addr;
	char sym[128];		/* "" when it cannot be named */
	uint64_t off;
	const char *module;	/* NULL: the kernel image (or unnamed) */
};
/*
 * Name @addr: inside the kernel image (_stext.._end) or a loaded module's
 * core text only.  Anything else (a module's freed __init text, say) the
 * kernel prints as a bare address, and so does kpm, rather than naming it
 * after whatever symbol happens to precede it.
 */
void kpm_symbolize(struct kpm_target *t, uint64_t addr, struct kpm_frame *f);
/* "sym+0xoff [module]", or "0xaddr" */
void kpm_frame_text(const struct kpm_frame *f, char *buf, size_t len);

/* hex_dump_to_buffer() rows: 16 bytes, 1-byte groups, ASCII column. */
void kpm_hex_rows(FILE *fp, const char *indent, const unsigned char *p, size_t len);
/* Lower-case hex string of @len bytes into @buf (2 * len + 1). */
void kpm_hex_string(const unsigned char *p, size_t len, char *buf);

/*
 * Names of the set bits of @flags: "A|B|BIT7"; bits beyond @n (or with a
 * NULL name) print as BITn; @none when no bit is set.
 */
void kpm_flag_names(uint64_t flags, const char *const *names, unsigned int n,
		    const char *none, char *buf, size_t len);

/*
 * Red-black tree (struct rb_root at @root), in order, with an explicit
 * stack bounded at 128 levels and at @max nodes.  fn gets each rb_node.
 * Returns the node count, or -1 with t->err saying where it stopped.
 */
long kpm_rbtree_walk(struct kpm_target *t, uint64_t root, long max,
		     kpm_list_fn fn, void *arg);
/*
 * The same, for a caller that has read (most of) the tree's nodes already:
 * src(src_arg, node, buf, size) fills @buf with the @size bytes of struct
 * rb_node at @node and returns 0, or returns -1 and the walk reads them.
 * The checks are the same: src hands over bytes, never a verdict.
 */
typedef int (*kpm_node_src)(void *src_arg, uint64_t node, void *buf, long size);
long kpm_rbtree_walk_src(struct kpm_target *t, uint64_t root, long max,
			 kpm_list_fn fn, void *arg, kpm_node_src src, void *src_arg);
/*
 * Binary search: cmp(node) < 0 goes left, > 0 right, 0 found.  Returns 0
 * with *found the node (0 when absent), or -1 with t->err when a node
 * cannot be read or the tree is not one.
 */
typedef int (*kpm_rb_cmp)(struct kpm_target *t, uint64_t node, void *arg);
int kpm_rbtree_find(struct kpm_target *t, uint64_t root, kpm_rb_cmp cmp, void *arg,
		    uint64_t *found);

/* hlist (struct hlist_head at @head): fn gets each hlist_node, bounded, loop-checked. */
long kpm_hlist_walk(struct kpm_target *t, uint64_t head, long max,
		    kpm_list_fn fn, void *arg);

/*
 * xarray (struct xarray at @xa): fn gets each present entry's index and
 * value (node, sibling, retry and zero entries skipped; value entries
 * passed on, as xa_for_each() does).  Bounded depth and entry count.  Returns the entry
 * count, or -1 with t->err.
 */
typedef int (*kpm_xa_fn)(struct kpm_target *t, uint64_t index, uint64_t entry, void *arg);
long kpm_xa_walk(struct kpm_target *t, uint64_t xa, long max, kpm_xa_fn fn, void *arg);
/* IDR (struct idr at @idr): ids are xarray indices plus idr_base. */
long kpm_idr_walk(struct kpm_target *t, uint64_t idr, long max, kpm_xa_fn fn, void *arg);

#endif
