// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder: KVM guest FPU state and XFD (seed 003).
 *
 * A VMM that loads a guest's XSAVE state (KVM_SET_XSAVE) while the
 * guest's XFD disables a component (AMX XTILEDATA, bit 18) could leave
 * XSTATE_BV[i] = 1 with XFD[i] = 1 in the guest fpstate; the host's XRSTOR
 * of that state takes #NM in kernel mode and the host dies.  b45f72177594
 * (v6.19; 6.12.67, 6.1.162) clears XSTATE_BV[i] whenever XFD[i] = 1.
 *
 * Every VM on vm_list (kvm.ko), every vCPU in its vcpu_array, and each
 * vCPU's guest FPU: struct fpu_guest (vcpu->arch.guest_fpu), the guest
 * fpstate it points to (KVM's view of the guest's XFD is fpstate->xfd),
 * the XSAVE header in fpstate->regs, and the guest's XCR0
 * (vcpu->arch.xcr0).  Per host CPU: the fpstate its registers hold
 * (fpu_fpregs_owner_ctx->fpstate) and its xfd_state (x86_64, 5.16+).
 *
 * The guest fpstate is vmalloc'd at its real size, fpstate->size bytes of
 * registers, and a guard page follows: nothing beyond what the header
 * needs is read, never sizeof(struct fpstate).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"
#include "kernel.h"
#include "printk.h"
#include "kvm.h"

#define LEGACY_BYTES	512	/* struct fxregs_state: the XSAVE legacy area */
#define HEADER_BYTES	64	/* struct xstate_header */
#define XCOMP_COMPACTED	(1ULL << 63)	/* XCOMP_BV[63]: compacted format (SDM) */

/*
 * enum xfeature from the kernel's debug info (asm/fpu/types.h), shown by
 * the names /proc/cpuinfo and the SDM use.  A bit the enum does not name
 * prints as bitN.
 */
static const struct {
	const char *enumerator, *name;
} xfeatures[] = {
	{ "XFEATURE_FP", "x87" },
	{ "XFEATURE_SSE", "SSE" },
	{ "XFEATURE_YMM", "AVX" },
	{ "XFEATURE_BNDREGS", "BNDREGS" },
	{ "XFEATURE_BNDCSR", "BNDCSR" },
	{ "XFEATURE_OPMASK", "OPMASK" },
	{ "XFEATURE_ZMM_Hi256", "ZMM_Hi256" },
	{ "XFEATURE_Hi16_ZMM", "Hi16_ZMM" },
	{ "XFEATURE_PT_UNIMPLEMENTED_SO_FAR", "PT" },
	{ "XFEATURE_PKRU", "PKRU" },
	{ "XFEATURE_PASID", "PASID" },
	{ "XFEATURE_CET_USER", "CET_U" },
	{ "XFEATURE_CET_KERNEL_UNUSED", "CET_S" },
	{ "XFEATURE_LBR", "LBR" },
	{ "XFEATURE_XTILE_CFG", "XTILECFG" },
	{ "XFEATURE_XTILE_DATA", "XTILEDATA" },
};
#define NR_XF	(sizeof(xfeatures) / sizeof(xfeatures[0]))

/* Frames of the FPU restore path: the log records that name them. */
static const char *const restore_path[] = {
	"restore_fpregs_from_fpstate", "fpu_swap_kvm_fpstate", "os_xrstor", "xrstor",
	"fpregs_restore_userregs", "kvm_load_guest_fpu", "switch_fpu_return",
};

enum {
	V_ARCH,
	VA_GUEST_FPU, VA_XCR0,
	FG_XFEATURES, FG_PERM, FG_XFD_ERR, FG_UABI_SIZE, FG_FPSTATE,
	FS_SIZE, FS_USER_SIZE, FS_XFEATURES, FS_USER_XFEATURES, FS_XFD,
	FS_IS_VALLOC, FS_IS_GUEST, FS_IS_CONFIDENTIAL, FS_IN_USE, FS_REGS,
	FR_XSAVE, XR_I387, XR_HEADER, XH_XFEATURES, XH_XCOMP_BV,
	FPU_FPSTATE, T_THREAD, TH_FPU,
	NR_MEMBERS
};

static const struct kpm_member member_tab[NR_MEMBERS + 1] = {
	[V_ARCH] = KPM_MEMBER("kvm_vcpu", arch),
	/* struct fpu_guest: v5.16+ */
	[VA_GUEST_FPU] = KPM_MEMBER("kvm_vcpu_arch", guest_fpu),
	[VA_XCR0] = KPM_MEMBER("kvm_vcpu_arch", xcr0),
	[FG_XFEATURES] = KPM_MEMBER("fpu_guest", xfeatures),
	[FG_PERM] = KPM_MEMBER("fpu_guest", perm),
	[FG_XFD_ERR] = KPM_MEMBER("fpu_guest", xfd_err),
	[FG_UABI_SIZE] = KPM_MEMBER("fpu_guest", uabi_size),
	[FG_FPSTATE] = KPM_MEMBER("fpu_guest", fpstate),
	[FS_SIZE] = KPM_MEMBER("fpstate", size),
	[FS_USER_SIZE] = KPM_MEMBER("fpstate", user_size),
	[FS_XFEATURES] = KPM_MEMBER("fpstate", xfeatures),
	[FS_USER_XFEATURES] = KPM_MEMBER("fpstate", user_xfeatures),
	[FS_XFD] = KPM_MEMBER("fpstate", xfd),
	[FS_IS_VALLOC] = KPM_MEMBER("fpstate", is_valloc),
	[FS_IS_GUEST] = KPM_MEMBER("fpstate", is_guest),
	[FS_IS_CONFIDENTIAL] = KPM_MEMBER("fpstate", is_confidential),
	[FS_IN_USE] = KPM_MEMBER("fpstate", in_use),
	[FS_REGS] = KPM_MEMBER("fpstate", regs),
	[FR_XSAVE] = KPM_MEMBER("union fpregs_state", xsave),
	[XR_I387] = KPM_MEMBER("xregs_state", i387),
	[XR_HEADER] = KPM_MEMBER("xregs_state", header),
	[XH_XFEATURES] = KPM_MEMBER("xstate_header", xfeatures),
	[XH_XCOMP_BV] = KPM_MEMBER("xstate_header", xcomp_bv),
	[FPU_FPSTATE] = KPM_MEMBER("fpu", fpstate),
	/* the task whose struct fpu it is: thread.fpu up to v6.13 */
	[T_THREAD] = KPM_MEMBER_OPT("task_struct", thread),
	[TH_FPU] = KPM_MEMBER_OPT("thread_struct", fpu),
	[NR_MEMBERS] = { NULL },
};

struct vcpu {
	const struct kpm_kvm_vcpu *k;	/* the vCPU and its thread (kvm.c) */
	uint64_t xcr0;
	/* struct fpu_guest */
	uint64_t gf_xfeatures, gf_perm, gf_xfd_err, gf_uabi_size, fpstate;
	/* struct fpstate */
	int have_fps;
	uint64_t size, user_size, xfeatures, user_xfeatures, xfd;
	int is_valloc, is_guest, is_confidential, in_use;
	int have_header;
	uint64_t xstate_bv, xcomp_bv;
	long loaded_on;			/* CPU whose registers hold it, -1 */
	char err[KPM_ERRLEN];
};

struct vm {
	const struct kpm_kvm_vm *k;	/* the VM and its VMM (kvm.c) */
	struct vcpu *v;			/* parallel to k->v */
	long nv;
};

struct hcpu {
	int cpu;
	uint64_t owner, fpstate;
	int pid;			/* the owner's task, -1: unknown */
	char comm[32];
	int have_xfd;
	uint64_t xfd_state;
	char err[KPM_ERRLEN];
};

struct kvm_ctx {
	struct kpm_target *t;
	struct kpm_member m[NR_MEMBERS + 1];
	long xf_bit[NR_XF];
	struct kpm_kvm kvm;
	struct vm *vm;
	long nvm;
	struct hcpu *c;
	long nc;
	int have_owner;
	char cpu_err[KPM_ERRLEN];
	int panic_cpu, panic_pid;
	uint64_t panic_task;
	char panic_comm[32];
};

#define M(x, i)	(&(x)->m[i])

static int kvm_applies(struct kpm_target *t)
{
	if (kpm_kvm_applies(t))
		return -1;
	/* struct fpu_guest: x86 KVM, v5.16+ */
	if (t->ops->type_size(t, "fpu_guest") < 0) {
		kpm_errf(t, "no struct fpu_guest in the debug info: not an x86 KVM host (v5.16+)");
		return -1;
	}
	return 0;
}

static int kvm_init(struct kvm_ctx *x, struct kpm_target *t)
{
	unsigned int i;

	memset(x, 0, sizeof(*x));
	x->t = t;
	if (kvm_applies(t))
		return -1;
	memcpy(x->m, member_tab, sizeof(member_tab));
	if (kpm_resolve(t, x->m))
		return -1;
	for (i = 0; i < NR_XF; i++)
		if (t->ops->enum_value(t, xfeatures[i].enumerator, &x->xf_bit[i]) ||
		    x->xf_bit[i] < 0 || x->xf_bit[i] > 63)
			x->xf_bit[i] = -1;
	x->panic_cpu = -1;
	return 0;
}

static void free_ctx(struct kvm_ctx *x)
{
	long i;

	for (i = 0; i < x->nvm; i++)
		free(x->vm[i].v);
	free(x->vm);
	free(x->c);
	kpm_kvm_free(&x->kvm);
}

/* "x87|SSE|AVX|XTILEDATA", by the kernel's enum xfeature */
static void feature_names(const struct kvm_ctx *x, uint64_t v, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int b, i;

	buf[0] = 0;
	if (!v) {
		snprintf(buf, len, "-");
		return;
	}
	for (b = 0; b < 64; b++) {
		const char *name = NULL;
		char tmp[16];

		if (!(v & (1ULL << b)))
			continue;
		for (i = 0; i < NR_XF; i++)
			if (x->xf_bit[i] == (long)b)
				name = xfeatures[i].name;
		if (!name) {
			snprintf(tmp, sizeof(tmp), "bit%u", b);
			name = tmp;
		}
		if (n < len)
			n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "", name);
	}
}

static void read_fpstate(struct kvm_ctx *x, struct vcpu *v)
{
	struct kpm_target *t = x->t;
	uint64_t fs = v->fpstate, v64, hdr;
	long regs = M(x, FS_REGS)->off, hoff;

	if (!kpm_kptr_ok(t, fs)) {
		snprintf(v->err, sizeof(v->err), "guest_fpu.fpstate %#" PRIx64 " is not a kernel address", fs);
		return;
	}
	if (kpm_read_member(t, fs, M(x, FS_SIZE), &v->size) ||
	    kpm_read_member(t, fs, M(x, FS_USER_SIZE), &v->user_size) ||
	    kpm_read_member(t, fs, M(x, FS_XFEATURES), &v->xfeatures) ||
	    kpm_read_member(t, fs, M(x, FS_USER_XFEATURES), &v->user_xfeatures) ||
	    kpm_read_member(t, fs, M(x, FS_XFD), &v->xfd)) {
		snprintf(v->err, sizeof(v->err), "%.200s", t->err);
		return;
	}
	/* the flag bitfields: kpm_read_member reads only the bytes each spans */
	{
		int *flag[4] = { &v->is_valloc, &v->is_guest, &v->is_confidential, &v->in_use };
		int i;

		for (i = 0; i < 4; i++) {
			if (kpm_read_member(t, fs, M(x, FS_IS_VALLOC + i), &v64)) {
				snprintf(v->err, sizeof(v->err), "%.200s", t->err);
				return;
			}
			*flag[i] = !!v64;
		}
	}
	v->have_fps = 1;
	hoff = M(x, FR_XSAVE)->off + M(x, XR_HEADER)->off;
	if ((uint64_t)(hoff + HEADER_BYTES) > v->size) {
		snprintf(v->err, sizeof(v->err), "fpstate.size %" PRIu64 " is smaller than the XSAVE header's end (%ld)",
			 v->size, hoff + HEADER_BYTES);
		return;
	}
	hdr = fs + regs + hoff;
	if (kpm_read_member(t, hdr, M(x, XH_XFEATURES), &v->xstate_bv) ||
	    kpm_read_member(t, hdr, M(x, XH_XCOMP_BV), &v64)) {
		snprintf(v->err, sizeof(v->err), "%.200s", t->err);
		return;
	}
	v->xcomp_bv = v64;
	v->have_header = 1;
}

static void read_vcpu(struct kvm_ctx *x, struct vcpu *v)
{
	struct kpm_target *t = x->t;
	uint64_t arch = v->k->addr + M(x, V_ARCH)->off, gf;

	if (v->k->err[0])
		return;
	kpm_read_member(t, arch, M(x, VA_XCR0), &v->xcr0);
	gf = arch + M(x, VA_GUEST_FPU)->off;
	if (kpm_read_member(t, gf, M(x, FG_XFEATURES), &v->gf_xfeatures) ||
	    kpm_read_member(t, gf, M(x, FG_PERM), &v->gf_perm) ||
	    kpm_read_member(t, gf, M(x, FG_XFD_ERR), &v->gf_xfd_err) ||
	    kpm_read_member(t, gf, M(x, FG_UABI_SIZE), &v->gf_uabi_size) ||
	    kpm_read_member(t, gf, M(x, FG_FPSTATE), &v->fpstate)) {
		snprintf(v->err, sizeof(v->err), "%.200s", t->err);
		return;
	}
	read_fpstate(x, v);
}

static void read_cpus(struct kvm_ctx *x)
{
	struct kpm_target *t = x->t;
	const int *cpus;
	const uint64_t *offs;
	uint64_t owner_sym, xfd_sym = 0;
	long n, i, k, j;
	int have_xfd;

	if (t->ops->symbol(t, "fpu_fpregs_owner_ctx", &owner_sym)) {
		snprintf(x->cpu_err, sizeof(x->cpu_err), "no symbol fpu_fpregs_owner_ctx");
		return;
	}
	/* xfd_state: x86_64 kernels since v5.16 */
	have_xfd = !t->ops->symbol(t, "xfd_state", &xfd_sym);
	t->err[0] = 0;
	n = kpm_possible_cpus(t, &cpus, &offs);
	if (n < 0) {
		snprintf(x->cpu_err, sizeof(x->cpu_err), "%.200s", t->err);
		return;
	}
	x->c = calloc(n ? n : 1, sizeof(*x->c));
	if (!x->c)
		return;
	x->have_owner = 1;
	for (i = 0; i < n; i++) {
		struct hcpu *c = &x->c[x->nc++];

		c->cpu = cpus[i];
		c->pid = -1;
		if (kpm_read_ptr(t, owner_sym + offs[i], &c->owner, "fpu_fpregs_owner_ctx")) {
			snprintf(c->err, sizeof(c->err), "%.200s", t->err);
			continue;
		}
		if (have_xfd && !kpm_read_uint(t, xfd_sym + offs[i], 8, &c->xfd_state, "xfd_state"))
			c->have_xfd = 1;
		if (!c->owner)
			continue;
		if (kpm_kptr_ok(t, c->owner) && kpm_has(M(x, T_THREAD)) && kpm_has(M(x, TH_FPU)) &&
		    kpm_task_ident(t, c->owner - M(x, T_THREAD)->off - M(x, TH_FPU)->off, &c->pid,
				   c->comm, sizeof(c->comm)))
			c->pid = -1;
		if (!kpm_kptr_ok(t, c->owner) || kpm_read_member(t, c->owner, M(x, FPU_FPSTATE), &c->fpstate)) {
			snprintf(c->err, sizeof(c->err), "fpu_fpregs_owner_ctx %#" PRIx64 ": %.180s", c->owner,
				 kpm_kptr_ok(t, c->owner) ? t->err : "not a kernel address");
			continue;
		}
		for (k = 0; k < x->nvm; k++)
			for (j = 0; j < x->vm[k].nv; j++)
				if (x->vm[k].v[j].fpstate && x->vm[k].v[j].fpstate == c->fpstate)
					x->vm[k].v[j].loaded_on = c->cpu;
	}
}

static int decode_all(struct kvm_ctx *x, struct kpm_target *t)
{
	long i, j;

	if (kvm_init(x, t))
		return -1;
	t->err[0] = 0;
	if (kpm_kvm_read(t, &x->kvm))
		return -1;
	x->vm = calloc(x->kvm.nvm ? x->kvm.nvm : 1, sizeof(*x->vm));
	if (!x->vm) {
		kpm_kvm_free(&x->kvm);
		kpm_errf(t, "out of memory");
		return -1;
	}
	x->nvm = x->kvm.nvm;
	for (i = 0; i < x->nvm; i++) {
		struct vm *vm = &x->vm[i];

		vm->k = &x->kvm.vm[i];
		vm->v = calloc(vm->k->nv ? vm->k->nv : 1, sizeof(*vm->v));
		if (!vm->v)
			continue;
		vm->nv = vm->k->nv;
		for (j = 0; j < vm->nv; j++) {
			vm->v[j].k = &vm->k->v[j];
			vm->v[j].loaded_on = -1;
			read_vcpu(x, &vm->v[j]);
		}
	}
	read_cpus(x);
	t->err[0] = 0;
	if (kpm_panic_info(t, &x->panic_cpu, &x->panic_task, &x->panic_pid, x->panic_comm,
			   sizeof(x->panic_comm)))
		x->panic_cpu = -1;
	return 0;
}

struct log_hit {
	const char *frame;
	char line[200];
};

static int log_cb(struct kpm_target *t, const struct kpm_log_record *r, void *arg)
{
	struct log_hit *h = arg;
	unsigned int i;

	(void)t;
	for (i = 0; i < sizeof(restore_path) / sizeof(restore_path[0]); i++) {
		const char *p = r->len ? memmem(r->text, r->len, restore_path[i], strlen(restore_path[i])) : NULL;

		if (p) {
			h->frame = restore_path[i];
			snprintf(h->line, sizeof(h->line), "%.*s", (int)(r->len < 190 ? r->len : 190), r->text);
		}
	}
	return 0;
}

/* Triage "data": the VM and vCPU a finding is about. */
static void vcpu_data(struct kpm_json *j, const struct vm *vm, const struct vcpu *v)
{
	kpm_kvm_vcpu_json(j, vm->k, v->k);
	kpm_json_hex(j, "fpstate", v->fpstate);
}

/* Why a vCPU could not be read: the vCPU itself (kvm.c), or its FPU. */
static const char *verr(const struct vcpu *v)
{
	return v->k->err[0] ? v->k->err : v->err;
}

static long diagnose(struct kvm_ctx *x, struct kpm_diag *dg)
{
	struct kpm_json *jd;
	char who[256], bv[256], xfd[256], bad[256];
	long n = 0, i, j, k;

	/* 1. XSTATE_BV & XFD: XRSTOR of this state takes #NM */
	for (i = 0; i < x->nvm; i++)
		for (j = 0; j < x->vm[i].nv; j++) {
			const struct vcpu *v = &x->vm[i].v[j];

			if (!v->have_header || !(v->xstate_bv & v->xfd))
				continue;
			kpm_kvm_vcpu_name(x->vm[i].k, v->k, who, sizeof(who));
			feature_names(x, v->xstate_bv & v->xfd, bad, sizeof(bad));
			feature_names(x, v->xstate_bv, bv, sizeof(bv));
			feature_names(x, v->xfd, xfd, sizeof(xfd));
			kpm_diag(dg, 1, "%s: guest fpstate %016" PRIx64 " has XSTATE_BV %#" PRIx64 " & XFD %#" PRIx64
			     " = %#" PRIx64 " (%s)", who, v->fpstate, v->xstate_bv, v->xfd, v->xstate_bv & v->xfd, bad);
			kpm_diag(dg, 0, "XSTATE_BV %s; XFD %s: an XRSTOR of this state raises #NM in the host "
			     "(fixed by b45f72177594, which clears XSTATE_BV[i] when XFD[i] is set)", bv, xfd);
			if ((jd = kpm_diag_data(dg))) {
				vcpu_data(jd, &x->vm[i], v);
				kpm_json_hex(jd, "xstate_bv", v->xstate_bv);
				kpm_json_hex(jd, "xfd", v->xfd);
				kpm_json_hex(jd, "conflict", v->xstate_bv & v->xfd);
				kpm_json_str(jd, "features", bad);
			}
			n++;
		}
	/* 2. a guest fpstate loaded on a CPU whose xfd_state differs */
	for (k = 0; k < x->nc; k++) {
		const struct hcpu *c = &x->c[k];

		if (!c->fpstate || !c->have_xfd)
			continue;
		for (i = 0; i < x->nvm; i++)
			for (j = 0; j < x->vm[i].nv; j++) {
				const struct vcpu *v = &x->vm[i].v[j];

				if (v->fpstate != c->fpstate || !v->have_fps || v->xfd == c->xfd_state)
					continue;
				kpm_kvm_vcpu_name(x->vm[i].k, v->k, who, sizeof(who));
				kpm_diag(dg, 1, "%s: guest fpstate %016" PRIx64 " is loaded on CPU %d with xfd %#" PRIx64
				     " but that CPU's xfd_state is %#" PRIx64, who, v->fpstate, c->cpu, v->xfd,
				     c->xfd_state);
				kpm_diag(dg, 0, "the XFD MSR and the fpstate disagree: the next XSAVES/XRSTOR on CPU %d "
				     "uses the wrong XFD", c->cpu);
				if ((jd = kpm_diag_data(dg))) {
					vcpu_data(jd, &x->vm[i], v);
					kpm_json_i64(jd, "cpu", c->cpu);
					kpm_json_hex(jd, "xfd", v->xfd);
					kpm_json_hex(jd, "xfd_state", c->xfd_state);
				}
				n++;
			}
	}
	/* 3. the panicking task is a vCPU thread, in the FPU restore path */
	if (x->panic_cpu >= 0 && x->panic_task) {
		for (i = 0; i < x->nvm; i++)
			for (j = 0; j < x->vm[i].nv; j++) {
				const struct vcpu *v = &x->vm[i].v[j];
				struct log_hit h = { NULL, "" };

				if (v->k->task != x->panic_task)
					continue;
				kpm_log_walk(x->t, log_cb, &h);
				if (!h.frame)
					continue;
				kpm_kvm_vcpu_name(x->vm[i].k, v->k, who, sizeof(who));
				kpm_diag(dg, 1, "the kernel panicked on CPU %d in %s, the thread of %s, in the FPU restore "
				     "path (%s)", x->panic_cpu, x->panic_comm, who, h.frame);
				kpm_diag(dg, 0, "log: %s", h.line);
				if ((jd = kpm_diag_data(dg))) {
					vcpu_data(jd, &x->vm[i], v);
					kpm_json_i64(jd, "cpu", x->panic_cpu);
					kpm_json_str(jd, "frame", h.frame);
				}
				n++;
			}
	}
	return n;
}

static void hex_area(struct kvm_ctx *x, FILE *fp, const struct vcpu *v)
{
	unsigned char b[LEGACY_BYTES + HEADER_BYTES];
	uint64_t at = v->fpstate + M(x, FS_REGS)->off + M(x, FR_XSAVE)->off;

	if (!v->have_header)
		return;
	if (kpm_read(x->t, at, b, sizeof(b), "XSAVE area")) {
		fprintf(fp, "        %s\n", x->t->err);
		return;
	}
	fprintf(fp, "        XSAVE header at %016" PRIx64 ":\n", at + M(x, XR_HEADER)->off);
	kpm_hex_rows(fp, "          ", b + M(x, XR_HEADER)->off, HEADER_BYTES);
	fprintf(fp, "        legacy area (struct fxregs_state) at %016" PRIx64 ":\n", at + M(x, XR_I387)->off);
	kpm_hex_rows(fp, "          ", b + M(x, XR_I387)->off, LEGACY_BYTES);
}

static void report_text(struct kvm_ctx *x, FILE *fp, int hex)
{
	char a[256], b[256], c[256];
	long i, j, k;

	fprintf(fp, "KVM VMS (vm_list: %ld)\n", x->nvm);
	if (x->kvm.list_err[0])
		fprintf(fp, "  vm_list: %s\n", x->kvm.list_err);
	if (!x->nvm)
		fprintf(fp, "  (none)\n");
	for (i = 0; i < x->nvm; i++) {
		const struct vm *vm = &x->vm[i];

		fprintf(fp, "  %-16s  %7s  %-16s  %-16s  %6s  %7s\n", "KVM", "VMM_PID", "COMM", "MM",
			"ONLINE", "CREATED");
		fprintf(fp, "  %016" PRIx64 "  %7ld  %-16s  %016" PRIx64 "  %6ld  %7ld\n", vm->k->addr,
			vm->k->userspace_pid, vm->k->comm, vm->k->mm, vm->k->online, vm->k->created);
		if (vm->k->err[0])
			fprintf(fp, "    %s\n", vm->k->err);
		if (!vm->nv)
			continue;
		fprintf(fp, "    %7s  %-16s  %7s  %-16s  %3s  %-18s  %6s  %-16s  %5s  %9s  %s\n",
			"VCPU_ID", "KVM_VCPU", "PID", "COMM", "CPU", "MODE", "XCR0", "FPSTATE", "SIZE",
			"USER_SIZE", "FLAGS");
		for (j = 0; j < vm->nv; j++) {
			const struct vcpu *v = &vm->v[j];
			const char *mn = kpm_kvm_mode_name(&x->kvm, v->k->mode);
			char flags[64] = "";

			if (verr(v)[0] && !v->fpstate) {
				fprintf(fp, "    %7s  %016" PRIx64 "  %s\n", "?", v->k->addr, verr(v));
				continue;
			}
			if (v->have_fps)
				snprintf(flags, sizeof(flags), "%s%s%s%s", v->is_valloc ? "valloc " : "",
					 v->is_guest ? "guest " : "", v->is_confidential ? "confidential " : "",
					 v->in_use ? "in_use " : "");
			if (flags[0])
				flags[strlen(flags) - 1] = 0;
			else
				snprintf(flags, sizeof(flags), "-");
			fprintf(fp, "    %7ld  %016" PRIx64 "  %7d  %-16s  %3ld  %-18s  %#6" PRIx64 "  %016" PRIx64,
				v->k->vcpu_id, v->k->addr, v->k->pid, v->k->comm, v->k->cpu, mn ? mn : "?", v->xcr0, v->fpstate);
			if (v->have_fps)
				fprintf(fp, "  %5" PRIu64 "  %9" PRIu64 "  %s\n", v->size, v->user_size, flags);
			else
				fputc('\n', fp);
			if (v->have_fps) {
				feature_names(x, v->xfeatures, a, sizeof(a));
				feature_names(x, v->user_xfeatures, b, sizeof(b));
				feature_names(x, v->xfd, c, sizeof(c));
				fprintf(fp, "             fpstate: xfeatures %#" PRIx64 " (%s), user_xfeatures %#" PRIx64
					" (%s), xfd %#" PRIx64 " (%s)\n", v->xfeatures, a, v->user_xfeatures, b, v->xfd, c);
			}
			if (v->have_header) {
				feature_names(x, v->xstate_bv, a, sizeof(a));
				fprintf(fp, "             XSAVE header: XSTATE_BV %#" PRIx64 " (%s), XCOMP_BV %#" PRIx64
					" (%s)\n", v->xstate_bv, a, v->xcomp_bv,
					v->xcomp_bv & XCOMP_COMPACTED ? "compacted" : "standard format");
			}
			feature_names(x, v->gf_xfeatures, a, sizeof(a));
			feature_names(x, v->gf_perm, b, sizeof(b));
			fprintf(fp, "             guest_fpu: xfeatures %#" PRIx64 " (%s), perm %#" PRIx64 " (%s), "
				"xfd_err %#" PRIx64 ", uabi_size %" PRIu64 "\n", v->gf_xfeatures, a, v->gf_perm, b,
				v->gf_xfd_err, v->gf_uabi_size);
			if (v->loaded_on >= 0)
				fprintf(fp, "             loaded on CPU %ld (fpu_fpregs_owner_ctx)\n", v->loaded_on);
			if (verr(v)[0])
				fprintf(fp, "             %s\n", verr(v));
			if (hex)
				hex_area(x, fp, v);
		}
	}
	fprintf(fp, "\nHOST CPUS\n");
	if (x->cpu_err[0]) {
		fprintf(fp, "  %s\n", x->cpu_err);
		return;
	}
	fprintf(fp, "  %3s  %-20s  %7s  %-16s  %-16s  %-18s  %s\n", "CPU", "FPU_FPREGS_OWNER_CTX", "PID",
		"COMM", "FPSTATE", "XFD_STATE", "GUEST");
	for (k = 0; k < x->nc; k++) {
		const struct hcpu *hc = &x->c[k];
		char guest[64] = "-";

		for (i = 0; i < x->nvm; i++)
			for (j = 0; j < x->vm[i].nv; j++)
				if (hc->fpstate && x->vm[i].v[j].fpstate == hc->fpstate)
					snprintf(guest, sizeof(guest), "VM %016" PRIx64 " vCPU %ld", x->vm[i].k->addr,
						 x->vm[i].v[j].k->vcpu_id);
		if (hc->err[0]) {
			fprintf(fp, "  %3d  %s\n", hc->cpu, hc->err);
			continue;
		}
		fprintf(fp, "  %3d  %016" PRIx64 "      %7d  %-16s  %016" PRIx64 "  ", hc->cpu, hc->owner,
			hc->pid, hc->pid < 0 ? "-" : hc->comm, hc->fpstate);
		if (hc->have_xfd)
			fprintf(fp, "%#-18" PRIx64, hc->xfd_state);
		else
			fprintf(fp, "%-18s", "-");
		fprintf(fp, "  %s\n", guest);
	}
}

static void report_json(struct kvm_ctx *x, FILE *fp, int hex)
{
	struct kpm_json j;
	struct kpm_diag dg = { .kind = KPM_DIAG_JSON, .j = &j };
	char names[256];
	long i, k, w;

	kpm_json_open(&j, fp);
	kpm_json_begin(&j, NULL, '{');
	kpm_json_begin(&j, "diagnosis", '[');
	diagnose(x, &dg);
	kpm_diag_end(&dg);
	kpm_json_end(&j, ']');
	if (x->kvm.list_err[0])
		kpm_json_str(&j, "vm_list_error", x->kvm.list_err);
	kpm_json_begin(&j, "vms", '[');
	for (i = 0; i < x->nvm; i++) {
		const struct vm *vm = &x->vm[i];

		kpm_json_begin(&j, NULL, '{');
		kpm_json_hex(&j, "addr", vm->k->addr);
		kpm_json_i64(&j, "userspace_pid", vm->k->userspace_pid);
		kpm_json_str(&j, "comm", vm->k->comm);
		kpm_json_hex(&j, "mm", vm->k->mm);
		kpm_json_i64(&j, "online_vcpus", vm->k->online);
		kpm_json_i64(&j, "created_vcpus", vm->k->created);
		if (vm->k->err[0])
			kpm_json_str(&j, "error", vm->k->err);
		kpm_json_begin(&j, "vcpus", '[');
		for (k = 0; k < vm->nv; k++) {
			const struct vcpu *v = &vm->v[k];
			const char *mn = kpm_kvm_mode_name(&x->kvm, v->k->mode);

			kpm_json_begin(&j, NULL, '{');
			kpm_json_hex(&j, "addr", v->k->addr);
			kpm_json_i64(&j, "vcpu_id", v->k->vcpu_id);
			kpm_json_i64(&j, "vcpu_idx", v->k->vcpu_idx);
			kpm_json_i64(&j, "cpu", v->k->cpu);
			kpm_json_i64(&j, "mode", v->k->mode);
			if (mn)
				kpm_json_str(&j, "mode_name", mn);
			kpm_json_i64(&j, "pid", v->k->pid);
			kpm_json_str(&j, "comm", v->k->comm);
			kpm_json_hex(&j, "xcr0", v->xcr0);
			kpm_json_begin(&j, "guest_fpu", '{');
			kpm_json_hex(&j, "xfeatures", v->gf_xfeatures);
			kpm_json_hex(&j, "perm", v->gf_perm);
			kpm_json_hex(&j, "xfd_err", v->gf_xfd_err);
			kpm_json_u64(&j, "uabi_size", v->gf_uabi_size);
			kpm_json_hex(&j, "fpstate", v->fpstate);
			kpm_json_end(&j, '}');
			if (v->have_fps) {
				kpm_json_begin(&j, "fpstate", '{');
				kpm_json_u64(&j, "size", v->size);
				kpm_json_u64(&j, "user_size", v->user_size);
				kpm_json_hex(&j, "xfeatures", v->xfeatures);
				kpm_json_hex(&j, "user_xfeatures", v->user_xfeatures);
				kpm_json_hex(&j, "xfd", v->xfd);
				feature_names(x, v->xfd, names, sizeof(names));
				kpm_json_str(&j, "xfd_names", names);
				kpm_json_bool(&j, "is_valloc", v->is_valloc);
				kpm_json_bool(&j, "is_guest", v->is_guest);
				kpm_json_bool(&j, "is_confidential", v->is_confidential);
				kpm_json_bool(&j, "in_use", v->in_use);
				if (v->have_header) {
					kpm_json_hex(&j, "xstate_bv", v->xstate_bv);
					feature_names(x, v->xstate_bv, names, sizeof(names));
					kpm_json_str(&j, "xstate_bv_names", names);
					kpm_json_hex(&j, "xcomp_bv", v->xcomp_bv);
					kpm_json_bool(&j, "compacted", !!(v->xcomp_bv & XCOMP_COMPACTED));
				}
				kpm_json_end(&j, '}');
			}
			kpm_json_i64(&j, "loaded_on_cpu", v->loaded_on);
			if (hex && v->have_header) {
				unsigned char b[LEGACY_BYTES + HEADER_BYTES];
				char s[2 * sizeof(b) + 1];
				uint64_t at = v->fpstate + M(x, FS_REGS)->off + M(x, FR_XSAVE)->off;

				if (!kpm_read(x->t, at, b, sizeof(b), "XSAVE area")) {
					kpm_hex_string(b + M(x, XR_HEADER)->off, HEADER_BYTES, s);
					kpm_json_str(&j, "xsave_header_bytes", s);
					kpm_hex_string(b + M(x, XR_I387)->off, LEGACY_BYTES, s);
					kpm_json_str(&j, "legacy_area_bytes", s);
				}
			}
			if (verr(v)[0])
				kpm_json_str(&j, "error", verr(v));
			kpm_json_end(&j, '}');
		}
		kpm_json_end(&j, ']');
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	kpm_json_begin(&j, "cpus", '[');
	for (w = 0; w < x->nc; w++) {
		const struct hcpu *c = &x->c[w];

		kpm_json_begin(&j, NULL, '{');
		kpm_json_i64(&j, "cpu", c->cpu);
		kpm_json_hex(&j, "fpu_fpregs_owner_ctx", c->owner);
		kpm_json_i64(&j, "pid", c->pid);
		kpm_json_str(&j, "comm", c->pid < 0 ? "" : c->comm);
		kpm_json_hex(&j, "fpstate", c->fpstate);
		if (c->have_xfd)
			kpm_json_hex(&j, "xfd_state", c->xfd_state);
		if (c->err[0])
			kpm_json_str(&j, "error", c->err);
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	if (x->cpu_err[0])
		kpm_json_str(&j, "cpus_error", x->cpu_err);
	kpm_json_end(&j, '}');
	kpm_json_close(&j);
}

static long kvm_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	struct kvm_ctx x;
	struct kpm_diag dg = { .kind = KPM_DIAG_TEXT, .fp = fp };
	long n;

	if (decode_all(&x, t))
		return -1;
	if (kpm_opt_given(a, 'j')) {
		report_json(&x, fp, kpm_opt_given(a, 'x'));
		n = diagnose(&x, &(struct kpm_diag){ .kind = KPM_DIAG_COUNT });
		free_ctx(&x);
		return n;
	}
	fprintf(fp, "KVM GUEST FPU DIAGNOSIS\n");
	n = diagnose(&x, &dg);
	if (!n)
		fprintf(fp, "  nothing wrong found\n");
	fputc('\n', fp);
	report_text(&x, fp, kpm_opt_given(a, 'x'));
	free_ctx(&x);
	return n;
}

static int kvm_triage(struct kpm_target *t, struct kpm_triage *tr)
{
	struct kvm_ctx x;
	long i, j, nv = 0;

	if (decode_all(&x, t))
		return -1;
	diagnose(&x, &(struct kpm_diag){ .kind = KPM_DIAG_TRIAGE, .tr = tr });
	if (x.kvm.list_err[0])
		kpm_tr_partial(tr, "vm_list: %s", x.kvm.list_err);
	for (i = 0; i < x.nvm; i++) {
		if (x.vm[i].k->err[0])
			kpm_tr_partial(tr, "kvm %016" PRIx64 ": %s", x.vm[i].k->addr, x.vm[i].k->err);
		for (j = 0; j < x.vm[i].nv; j++) {
			nv++;
			if (verr(&x.vm[i].v[j])[0])
				kpm_tr_partial(tr, "kvm_vcpu %016" PRIx64 ": %s", x.vm[i].v[j].k->addr,
					       verr(&x.vm[i].v[j]));
		}
	}
	kpm_tr_info(tr, "%ld VM%s, %ld vCPU%s", x.nvm, x.nvm == 1 ? "" : "s", nv, nv == 1 ? "" : "s");
	free_ctx(&x);
	return 0;
}

static const struct kpm_objects kvm_objects[] = {
	{ "kvm", "struct kvm *", NULL, kpm_kvm_vm_objects },
	{ "vcpu", "struct kvm_vcpu *", "kvm", kpm_kvm_vcpu_objects },
	{ 0 },
};

static const struct kpm_opt kvm_opts[] = {
	{ 'x', KPM_OPT_FLAG, NULL, "hex dump each vCPU's XSAVE header and legacy area" },
	{ 'j', KPM_OPT_FLAG, NULL, "JSON output" },
	{ 0 },
};

static const char *const kvm_help[] = {
	"  Finds every VM on vm_list and every vCPU in its vcpu_array and prints",
	"  the guest FPU state KVM holds for each: the VM (VMM pid and comm, mm,",
	"  online and created vCPUs); the vCPU (vcpu_id, the task that runs it,",
	"  its CPU and mode, the guest's XCR0); struct fpu_guest (xfeatures, perm,",
	"  xfd_err, uabi_size); the guest fpstate (size, user_size, xfeatures,",
	"  user_xfeatures, xfd, which is the guest's XFD as KVM holds it, and the",
	"  is_valloc, is_guest, is_confidential and in_use flags); its XSAVE header",
	"  (XSTATE_BV, XCOMP_BV, compacted or standard format).  Then, per host",
	"  CPU, the fpstate its registers hold (fpu_fpregs_owner_ctx) and its",
	"  xfd_state.  Feature bits are named from the kernel's enum xfeature.",
	"",
	"  The diagnosis comes first: a guest fpstate whose XSTATE_BV has a",
	"  feature that its XFD disables (an XRSTOR of it raises #NM in the host,",
	"  which kills it: the bug b45f72177594 fixes); a guest fpstate loaded on a",
	"  CPU whose xfd_state differs from its xfd; a panicking vCPU thread whose",
	"  log names the FPU restore path.",
	"",
	"  Needs kvm's debug info (\"mod -s kvm\").",
	"",
	"    -x  hex dump of each vCPU's XSAVE header (64 bytes) and legacy area",
	"        (512 bytes, struct fxregs_state).",
	"    -j  print the same as JSON; keys are the kernel's member names.",
	"",
	"  An object that cannot be read (a page excluded from the dump, a garbage",
	"  pointer) is reported on one line and the walk goes on.",
	"\nEXAMPLE",
	"  A vCPU whose guest XSAVE state has XTILEDATA while its XFD disables it:",
	"",
	"    crash> kvmfpu",
	"    KVM GUEST FPU DIAGNOSIS",
	"      VM ffff88800a5b8000 (VMM pid 60 \"kpm_vmm\") vCPU 1 (pid 63 \"kpm_vmm\"): guest fpstate ffffc900001a5000 has XSTATE_BV 0x40007 & XFD 0x40000 = 0x40000 (XTILEDATA)",
	"        XSTATE_BV x87|SSE|AVX|XTILEDATA; XFD XTILEDATA: an XRSTOR of this state raises #NM in the host (fixed by b45f72177594, which clears XSTATE_BV[i] when XFD[i] is set)",
	"    ...",
	NULL
};

KPM_DECODER(kvmfpu_decoder) = {
	.name = "kvmfpu",
	.summary = "KVM vCPUs' guest FPU state and XFD, and XSTATE_BV that XFD disables",
	.synopsis = "[-x] [-j]",
	.help = kvm_help,
	.opts = kvm_opts,
	.triage_order = 40,
	.applies = kvm_applies,
	.report = kvm_report,
	.triage = kvm_triage,
	.objects = kvm_objects,
};
