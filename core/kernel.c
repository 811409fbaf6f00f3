// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder core: facts about the kernel in the dump, read once per
 * target: loaded modules and their text, possible CPUs and per-CPU offsets,
 * the kernel image's text range; symbolization and output helpers.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kernel.h"

#define MAX_CPUS	8192

struct kpm_kernel {
	/* modules */
	int mods_read;
	struct kpm_module *mods;
	long nmods;
	char mods_err[KPM_ERRLEN];
	/* CPUs */
	int cpus_read;
	int *cpus;
	uint64_t *cpu_off;
	long ncpus;
	char cpus_err[KPM_ERRLEN];
	/* the kernel image: what %pS names */
	int text_read;
	uint64_t stext, end;
};

static struct kpm_kernel *kern(struct kpm_target *t)
{
	if (!t->kern)
		t->kern = calloc(1, sizeof(*t->kern));
	return t->kern;
}

void kpm_target_done(struct kpm_target *t)
{
	struct kpm_kernel *k = t->kern;

	kpm_cache_free(t);
	free(t->eraseinfo);
	t->eraseinfo = NULL;
	if (!k)
		return;
	free(k->mods);
	free(k->cpus);
	free(k->cpu_off);
	free(k);
	t->kern = NULL;
}

/* Modules */

enum {
	MOD_LIST, MOD_NAME, MOD_CORE_LAYOUT, MOD_MEM, ML_BASE, ML_SIZE, MM_BASE, MM_SIZE,
	LH_NEXT, LH_PREV, NR_MOD
};

struct mod_walk {
	struct kpm_kernel *k;
	struct kpm_member m[NR_MOD + 1];
	long cap;
};

/* One module's name and text range (6.4+: mem[MOD_TEXT], the first). */
static int module_node(struct kpm_target *t, uint64_t node, void *arg)
{
	struct mod_walk *w = arg;
	struct kpm_kernel *k = w->k;
	struct kpm_module *r;
	uint64_t mod = node - w->m[MOD_LIST].off, range;
	int mem = kpm_has(&w->m[MOD_MEM]);
	long namelen = w->m[MOD_NAME].size;

	if (k->nmods == w->cap) {
		long cap = w->cap ? 2 * w->cap : 64;
		struct kpm_module *n = realloc(k->mods, cap * sizeof(*n));

		if (!n) {
			kpm_errf(t, "out of memory");
			return -1;
		}
		k->mods = n;
		w->cap = cap;
	}
	r = &k->mods[k->nmods];
	memset(r, 0, sizeof(*r));
	r->addr = mod;
	range = mem ? mod + w->m[MOD_MEM].off : mod + w->m[MOD_CORE_LAYOUT].off;
	if (namelen <= 0 || namelen > (long)sizeof(r->name) - 1)
		namelen = sizeof(r->name) - 1;
	if (kpm_read_string(t, mod + w->m[MOD_NAME].off, r->name, namelen, "module.name") < 0 ||
	    kpm_read_member(t, range, &w->m[mem ? MM_BASE : ML_BASE], &r->base) ||
	    kpm_read_member(t, range, &w->m[mem ? MM_SIZE : ML_SIZE], &r->size)) {
		/* this one is lost; say so once, go on with the next */
		if (!k->mods_err[0])
			snprintf(k->mods_err, sizeof(k->mods_err), "module at %#" PRIx64 ": %.200s",
				 mod, t->err);
		return 0;
	}
	k->nmods++;
	return 0;
}

long kpm_modules(struct kpm_target *t, const struct kpm_module **mods, const char **err)
{
	static const struct kpm_member tab[NR_MOD + 1] = {
		[MOD_LIST] = KPM_MEMBER_OPT("module", list),
		[MOD_NAME] = KPM_MEMBER_OPT("module", name),
		[MOD_CORE_LAYOUT] = KPM_MEMBER_OPT("module", core_layout),	/* < 6.4 */
		[MOD_MEM] = KPM_MEMBER_OPT("module", mem),			/* 6.4+ */
		[ML_BASE] = KPM_MEMBER_OPT("module_layout", base),
		[ML_SIZE] = KPM_MEMBER_OPT("module_layout", size),
		[MM_BASE] = KPM_MEMBER_OPT("module_memory", base),
		[MM_SIZE] = KPM_MEMBER_OPT("module_memory", size),
		[LH_NEXT] = KPM_MEMBER("list_head", next),
		[LH_PREV] = KPM_MEMBER("list_head", prev),
		[NR_MOD] = { NULL },
	};
	struct kpm_kernel *k = kern(t);
	struct mod_walk w;
	uint64_t head;
	char saved[KPM_ERRLEN];

	if (!k) {
		kpm_errf(t, "out of memory");
		return -1;
	}
	if (!k->mods_read) {
		k->mods_read = 1;
		memcpy(saved, t->err, sizeof(saved));
		memset(&w, 0, sizeof(w));
		w.k = k;
		memcpy(w.m, tab, sizeof(tab));
		if (kpm_resolve(t, w.m) == 0 && kpm_has(&w.m[MOD_LIST]) && kpm_has(&w.m[MOD_NAME]) &&
		    t->ops->symbol(t, "modules", &head) == 0 &&
		    (kpm_has(&w.m[MOD_MEM]) ? kpm_has(&w.m[MM_BASE])
					     : kpm_has(&w.m[MOD_CORE_LAYOUT]) && kpm_has(&w.m[ML_BASE]))) {
			/* what was read before a bad entry still names frames */
			if (kpm_list_walk(t, head, w.m[LH_NEXT].off, w.m[LH_PREV].off, 1L << 16,
					  module_node, &w) < 0 && !k->mods_err[0])
				snprintf(k->mods_err, sizeof(k->mods_err), "module list: %.200s", t->err);
		}
		memcpy(t->err, saved, sizeof(saved));
	}
	*mods = k->mods;
	if (err)
		*err = k->mods_err[0] ? k->mods_err : NULL;
	return k->nmods;
}

int kpm_module_symbol(struct kpm_target *t, const char *sym, const char *what, uint64_t *addr)
{
	const struct kpm_module *m;
	const char *err = NULL;

	if (!t->ops->symbol(t, sym, addr))
		return 0;
	/*
	 * A symbol of a module is missing when the module is not loaded, and
	 * also when the module list cannot be read (a dump cut short or
	 * missing pages): only the first is "not loaded".
	 */
	/* kpm_modules() reads the list from its head: an unreadable head is its error */
	kpm_modules(t, &m, &err);
	if (err)
		kpm_errf(t, "no symbol %s, and the module list cannot be read, so whether %s is loaded is unknown (%.120s)",
			 sym, what, err);
	else
		kpm_errf(t, "no symbol %s: %s is not loaded", sym, what);
	return -1;
}

const struct kpm_module *kpm_module_of(struct kpm_target *t, uint64_t addr)
{
	const struct kpm_module *m;
	long i, n = kpm_modules(t, &m, NULL);

	for (i = 0; i < n; i++)
		if (addr >= m[i].base && addr - m[i].base < m[i].size)
			return &m[i];
	return NULL;
}

/* CPUs */

int kpm_percpu_offset(struct kpm_target *t, int cpu, uint64_t *off)
{
	uint64_t base;
	long psz = kpm_ptr_size(t);

	if (cpu < 0 || cpu >= MAX_CPUS) {
		kpm_errf(t, "cpu %d out of range", cpu);
		return -1;
	}
	if (t->ops->symbol(t, "__per_cpu_offset", &base)) {
		*off = 0;	/* !CONFIG_SMP: per-CPU data is plain data */
		return 0;
	}
	return kpm_read_uint(t, base + psz * (uint64_t)cpu, psz, off, "__per_cpu_offset");
}

static void read_cpus(struct kpm_target *t, struct kpm_kernel *k)
{
	struct kpm_layout bits;
	uint64_t mask, nr_addr, nr;
	unsigned char *b;
	long cpu, len;

	if (t->ops->symbol(t, "__cpu_possible_mask", &mask) ||
	    kpm_lookup_member(t, "cpumask", "bits", &bits)) {
		/* !CONFIG_SMP */
		k->cpus = calloc(1, sizeof(*k->cpus));
		k->cpu_off = calloc(1, sizeof(*k->cpu_off));
		if (k->cpus && k->cpu_off)
			k->ncpus = 1;
		return;
	}
	if (t->ops->symbol(t, "nr_cpu_ids", &nr_addr) ||
	    kpm_read_uint(t, nr_addr, 4, &nr, "nr_cpu_ids")) {
		snprintf(k->cpus_err, sizeof(k->cpus_err), "%s", t->err);
		return;
	}
	if (nr > MAX_CPUS)
		nr = MAX_CPUS;
	len = bits.size;
	if (len <= 0 || len > MAX_CPUS / 8)
		len = MAX_CPUS / 8;
	b = calloc(1, len);
	k->cpus = calloc(nr ? nr : 1, sizeof(*k->cpus));
	k->cpu_off = calloc(nr ? nr : 1, sizeof(*k->cpu_off));
	if (!b || !k->cpus || !k->cpu_off) {
		snprintf(k->cpus_err, sizeof(k->cpus_err), "out of memory");
		free(b);
		return;
	}
	if (kpm_read(t, mask + bits.off, b, len, "__cpu_possible_mask")) {
		snprintf(k->cpus_err, sizeof(k->cpus_err), "%s", t->err);
		free(b);
		return;
	}
	for (cpu = 0; cpu < (long)nr && cpu / 8 < len; cpu++) {
		if (!((b[cpu / 8] >> (cpu % 8)) & 1))
			continue;
		if (kpm_percpu_offset(t, cpu, &k->cpu_off[k->ncpus])) {
			snprintf(k->cpus_err, sizeof(k->cpus_err), "%s", t->err);
			break;
		}
		k->cpus[k->ncpus++] = cpu;
	}
	free(b);
}

long kpm_possible_cpus(struct kpm_target *t, const int **cpus, const uint64_t **offsets)
{
	struct kpm_kernel *k = kern(t);

	if (!k) {
		kpm_errf(t, "out of memory");
		return -1;
	}
	if (!k->cpus_read) {
		k->cpus_read = 1;
		read_cpus(t, k);
	}
	if (k->cpus_err[0] && !k->ncpus) {
		kpm_errf(t, "possible CPUs: %.200s", k->cpus_err);
		return -1;
	}
	*cpus = k->cpus;
	*offsets = k->cpu_off;
	return k->ncpus;
}

/* Symbols */

static int in_kernel_text(struct kpm_target *t, uint64_t addr)
{
	struct kpm_kernel *k = kern(t);

	if (!k)
		return 0;
	if (!k->text_read) {
		k->text_read = 1;
		if (t->ops->symbol(t, "_stext", &k->stext) || t->ops->symbol(t, "_end", &k->end))
			k->stext = k->end = 0;
	}
	return k->stext && k->end && addr >= k->stext && addr < k->end;
}

void kpm_symbolize(struct kpm_target *t, uint64_t addr, struct kpm_frame *f)
{
	const struct kpm_module *m;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	m = kpm_module_of(t, addr);
	f->module = m ? m->name : NULL;
	if ((m || in_kernel_text(t, addr)) &&
	    t->ops->symbol_at(t, addr, f->sym, sizeof(f->sym), &f->off))
		f->sym[0] = 0;
}

void kpm_frame_text(const struct kpm_frame *f, char *buf, size_t len)
{
	if (!f->sym[0])
		snprintf(buf, len, "%#" PRIx64, f->addr);
	else if (f->module)
		snprintf(buf, len, "%s+%#" PRIx64 " [%s]", f->sym, f->off, f->module);
	else
		snprintf(buf, len, "%s+%#" PRIx64, f->sym, f->off);
}

/* Output */

void kpm_hex_rows(FILE *fp, const char *indent, const unsigned char *p, size_t len)
{
	size_t r, i;

	for (r = 0; r < len; r += 16) {
		size_t n = len - r < 16 ? len - r : 16;

		fputs(indent, fp);
		for (i = 0; i < n; i++)
			fprintf(fp, "%02x%s", p[r + i], i + 1 < n ? " " : "");
		fprintf(fp, "%*s  ", (int)(3 * (16 - n)), "");
		for (i = 0; i < n; i++)
			fputc(p[r + i] >= 0x20 && p[r + i] < 0x7f ? p[r + i] : '.', fp);
		fputc('\n', fp);
	}
}

void kpm_hex_string(const unsigned char *p, size_t len, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		buf[2 * i] = hex[p[i] >> 4];
		buf[2 * i + 1] = hex[p[i] & 15];
	}
	buf[2 * len] = 0;
}

void kpm_flag_names(uint64_t flags, const char *const *names, unsigned int n,
		    const char *none, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int b;

	if (len)
		buf[0] = 0;
	for (b = 0; b < 64; b++) {
		if (!(flags & (1ULL << b)))
			continue;
		if (b < n && names[b])
			used += snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? "|" : "", names[b]);
		else
			used += snprintf(buf + used, used < len ? len - used : 0, "%sBIT%u",
					 used ? "|" : "", b);
	}
	if (!used)
		snprintf(buf, len, "%s", none);
}

struct task_walk {
	long tasks_off;
	kpm_list_fn fn;
	void *arg;
};

static int task_node(struct kpm_target *t, uint64_t node, void *arg)
{
	struct task_walk *w = arg;

	return w->fn ? w->fn(t, node - w->tasks_off, w->arg) : 0;
}

long kpm_task_walk(struct kpm_target *t, long max, kpm_list_fn fn, void *arg)
{
	struct kpm_member m[] = {
		KPM_MEMBER("task_struct", tasks),
		KPM_MEMBER("list_head", next),
		KPM_MEMBER("list_head", prev),
		{ 0 }
	};
	struct task_walk w = { 0, fn, arg };
	uint64_t init_task;

	if (t->ops->symbol(t, "init_task", &init_task)) {
		kpm_errf(t, "no symbol init_task");
		return -1;
	}
	if (kpm_resolve(t, m))
		return -1;
	w.tasks_off = m[0].off;
	return kpm_list_walk(t, init_task + m[0].off, m[1].off, m[2].off, max, task_node, &w);
}

int kpm_cpu_curr(struct kpm_target *t, int cpu, uint64_t *task)
{
	struct kpm_member m[] = {
		KPM_MEMBER("rq", curr),
		KPM_MEMBER_OPT("rq", cpu),	/* CONFIG_SMP */
		{ 0 }
	};
	const int *cpus;
	const uint64_t *offs;
	uint64_t rq, off, v;
	long ncpus, i;

	*task = 0;
	ncpus = kpm_possible_cpus(t, &cpus, &offs);
	if (ncpus > 0) {
		for (i = 0; i < ncpus && cpus[i] != cpu; i++)
			;
		if (i == ncpus) {
			kpm_errf(t, "cpu %d is not a possible CPU", cpu);
			return -1;
		}
		off = offs[i];
	} else if (kpm_percpu_offset(t, cpu, &off)) {
		return -1;
	}
	if (t->ops->symbol(t, "runqueues", &rq)) {
		kpm_errf(t, "no symbol runqueues");
		return -1;
	}
	if (kpm_resolve(t, m))
		return -1;
	/*
	 * The runqueue says which CPU it belongs to: a per-CPU address that
	 * is wrong (a symbol relocated as if it were not per-CPU) is caught
	 * here rather than read as garbage.
	 */
	if (kpm_has(&m[1])) {
		if (kpm_read_member(t, rq + off, &m[1], &v))
			return -1;
		if ((int)(int32_t)(uint32_t)v != cpu) {
			kpm_errf(t, "runqueues of cpu %d at %#" PRIx64 " says cpu %d: wrong per-CPU address",
				 cpu, rq + off, (int)(int32_t)(uint32_t)v);
			return -1;
		}
	}
	if (kpm_read_member(t, rq + off, &m[0], task))
		return -1;
	if (!kpm_kptr_ok(t, *task)) {
		kpm_errf(t, "cpu %d: rq.curr %#" PRIx64 " is not a kernel address", cpu, *task);
		*task = 0;
		return -1;
	}
	return 0;
}

/*
 * Task state bits, include/linux/sched.h: TASK_INTERRUPTIBLE 0x1,
 * TASK_UNINTERRUPTIBLE 0x2, __TASK_STOPPED 0x4, __TASK_TRACED 0x8,
 * TASK_PARKED 0x40, TASK_DEAD 0x80, TASK_WAKEKILL 0x100, TASK_NOLOAD
 * 0x400; exit_state EXIT_DEAD 0x10, EXIT_ZOMBIE 0x20.  The same values
 * from v4.14 through v6.12 (#defines: not in the debug info).
 */
int kpm_task_state(struct kpm_target *t, uint64_t task, struct kpm_task_state *s)
{
	struct kpm_member m[] = {
		KPM_MEMBER_OPT("task_struct", __state),	/* v5.14+ */
		KPM_MEMBER_OPT("task_struct", state),
		KPM_MEMBER("task_struct", exit_state),
		KPM_MEMBER_OPT("task_struct", on_cpu),	/* CONFIG_SMP */
		KPM_MEMBER_OPT("task_struct", thread_info),
		KPM_MEMBER_OPT("thread_info", cpu),	/* v5.16+ and arm64 */
		KPM_MEMBER_OPT("task_struct", cpu),
		{ 0 }
	};
	uint64_t v;

	memset(s, 0, sizeof(*s));
	s->cpu = -1;
	if (kpm_resolve(t, m))
		return -1;
	if (kpm_read_member(t, task, kpm_has(&m[0]) ? &m[0] : &m[1], &v))
		return -1;
	s->state = v;
	if (kpm_read_member(t, task, &m[2], &v))
		return -1;
	s->exit_state = v;
	if (kpm_has(&m[3]) && !kpm_read_member(t, task, &m[3], &v))
		s->on_cpu = (int)v;
	if (kpm_has(&m[4]) && kpm_has(&m[5]) &&
	    !kpm_read_member(t, task + m[4].off, &m[5], &v))
		s->cpu = (int)(int32_t)(uint32_t)v;
	else if (kpm_has(&m[6]) && !kpm_read_member(t, task, &m[6], &v))
		s->cpu = (int)(int32_t)(uint32_t)v;
	if (s->exit_state & 0x20)
		s->letter = 'Z';
	else if (s->exit_state & 0x10)
		s->letter = 'X';
	else if (s->state == 0)
		s->letter = 'R';
	else if (s->state & 0x1)
		s->letter = 'S';
	else if ((s->state & 0x402) == 0x402)
		s->letter = 'I';
	else if (s->state & 0x2)
		s->letter = 'D';
	else if (s->state & 0x4)
		s->letter = 'T';
	else if (s->state & 0x8)
		s->letter = 't';
	else if (s->state & 0x40)
		s->letter = 'P';
	else
		s->letter = '?';
	return 0;
}

int kpm_version_code(const char *release)
{
	unsigned int a = 0, b = 0, c = 0;

	if (sscanf(release, "%u.%u.%u", &a, &b, &c) < 2)
		return 0;
	return KPM_KERNEL_VERSION(a, b, c > 255 ? 255 : c);
}

int kpm_task_ident(struct kpm_target *t, uint64_t task, int *pid, char *comm, size_t commlen)
{
	struct kpm_member m[] = {
		KPM_MEMBER("task_struct", pid),
		KPM_MEMBER("task_struct", comm),
		{ 0 }
	};
	uint64_t v;
	size_t max;

	*pid = -1;
	if (commlen)
		comm[0] = 0;
	if (kpm_resolve(t, m) || kpm_read_member(t, task, &m[0], &v))
		return -1;
	*pid = (int)(int32_t)(uint32_t)v;
	max = (size_t)m[1].size < commlen ? (size_t)m[1].size : commlen;
	if (max && kpm_read_string(t, task + m[1].off, comm, max - 1, "task_struct.comm") < 0)
		return -1;
	return 0;
}

long kpm_task_files(struct kpm_target *t, uint64_t task, unsigned int max_fds,
		    kpm_fd_fn fn, void *arg, long *unreadable)
{
	struct kpm_member m[] = {
		KPM_MEMBER("task_struct", files),
		KPM_MEMBER("files_struct", fdt),
		KPM_MEMBER("fdtable", max_fds),
		KPM_MEMBER("fdtable", fd),
		{ 0 }
	};
	uint64_t files, fdt, nfds, fd, file, chunk[512];
	long psz = kpm_ptr_size(t), n = 0, i, k, per;

	*unreadable = 0;
	if (kpm_resolve(t, m) || kpm_read_member(t, task, &m[0], &files))
		return -1;
	if (!files)
		return 0;	/* a kernel thread, or an exiting task */
	if (!kpm_kptr_ok(t, files)) {
		kpm_errf(t, "task %#" PRIx64 ": files %#" PRIx64 " is not a kernel address", task, files);
		return -1;
	}
	if (kpm_read_member(t, files, &m[1], &fdt))
		return -1;
	if (!kpm_kptr_ok(t, fdt)) {
		kpm_errf(t, "files_struct %#" PRIx64 ": fdt %#" PRIx64 " is not a kernel address",
			 files, fdt);
		return -1;
	}
	if (kpm_read_member(t, fdt, &m[2], &nfds) || kpm_read_member(t, fdt, &m[3], &fd))
		return -1;
	if (nfds > max_fds) {
		kpm_errf(t, "fdtable %#" PRIx64 ": max_fds %" PRIu64 " is more than %u", fdt, nfds, max_fds);
		return -1;
	}
	if (nfds && !kpm_kptr_ok(t, fd)) {
		kpm_errf(t, "fdtable %#" PRIx64 ": fd %#" PRIx64 " is not a kernel address", fdt, fd);
		return -1;
	}
	per = 4096 / psz;
	for (i = 0; i < (long)nfds; i += per) {
		long cnt = (long)nfds - i < per ? (long)nfds - i : per;
		unsigned char raw[4096];

		if (kpm_read(t, fd + i * psz, raw, cnt * psz, "fdtable.fd")) {
			*unreadable += cnt;
			continue;
		}
		for (k = 0; k < cnt; k++) {
			chunk[k] = kpm_get(raw, k * psz, psz);
			if (!chunk[k])
				continue;
			file = chunk[k];
			n++;
			if (fn && fn(t, task, (unsigned int)(i + k), file, arg) < 0)
				return -1;
		}
	}
	return n;
}

unsigned int kpm_enum_table(struct kpm_target *t, const char *prefix, const char *const *names,
			    long *vals, unsigned int n)
{
	char buf[128];
	unsigned int i, found = 0;

	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s%s", prefix, names[i]);
		if (t->ops->enum_value(t, buf, &vals[i]))
			vals[i] = -1;
		else
			found++;
	}
	return found;
}

const char *kpm_enum_name(const long *vals, const char *const *names, unsigned int n, long v)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (vals[i] == v)
			return names[i];
	return NULL;
}
