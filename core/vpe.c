// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder: arm64 KVM GICv4 vPE residency and doorbells (seed 002).
 *
 * With GICv4, KVM gives each vCPU of a VM that has an ITS a vPE (struct
 * its_vpe, in vcpu->arch.vgic_cpu.vgic_v3.its_vpe).  While the vCPU runs,
 * its vPE is resident on the CPU's redistributor and vLPIs go straight to
 * the guest.  When the vCPU blocks in WFI, KVM makes the vPE non-resident
 * with its doorbell requested (vgic_v4_put(vcpu, true)): a vLPI arriving
 * for it then raises the doorbell, a host LPI whose handler kicks the
 * vCPU.  b321c31c9b7b ("KVM: arm64: vgic-v4: Make the doorbell request
 * robust w.r.t preemption", v6.6; 6.1.47) fixed a preemption window in
 * which the vPE was put non-resident without the doorbell: the vCPU then
 * slept through its interrupts.
 *
 * Per VM on vm_list: the VMM, kvm->arch.vgic.its_vm (the vPE table, the
 * doorbell LPI range, the vPE irq domain).  Per vCPU: its thread and the
 * thread's state, vcpu->arch.sflags (IN_WFI), mp_state, the its_vpe
 * (vpe_id, resident, ready, pending_last, col_idx, vpe_db_lpi, irq,
 * vpt_page) and the doorbell's irq_desc, found through the vPE domain's
 * reverse map (hwirq = the vPE's index in its_vm.vpes), checked against
 * the vPE (irq number, chip_data): disabled and masked
 * (irq_common_data.state_use_accessors), depth, pending (istate).
 *
 * The sflags bits are #defines (arch/arm64/include/asm/kvm_host.h), not
 * in the debug info: those of v6.0 (when vcpu->arch.flags was split)
 * through v6.12.  IRQD_* and IRQS_* are enumerators, read from the debug
 * info.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"
#include "kernel.h"
#include "kvm.h"
#include "printk.h"

#define MAX_VPES	KPM_KVM_MAX_VCPUS

/* vcpu->arch.sflags, v6.0 through v6.12 (PMUSERENR_ON_CPU: v6.4+) */
static const char *const sflag_names[8] = {
	NULL, NULL, "ON_UNSUPPORTED_CPU", "IN_WFIT", "SYSREGS_ON_CPU",
	"DBG_SS_ACTIVE_PENDING", "PMUSERENR_ON_CPU", "IN_WFI",
};
#define IN_WFI_BIT	7
#define SFLAGS_FIRST	KPM_KERNEL_VERSION(6, 0, 0)
#define SFLAGS_LAST	KPM_KERNEL_VERSION(6, 12, 255)

/* struct kvm_mp_state.mp_state: KVM_MP_STATE_* (uapi/linux/kvm.h) */
static const char *const mp_states[] = {
	"RUNNABLE", "UNINITIALIZED", "INIT_RECEIVED", "HALTED", "SIPI_RECEIVED", "STOPPED",
	"CHECK_STOP", "OPERATING", "LOAD", "AP_RESET_HOLD", "SUSPENDED",
};
#define NR_MP	(sizeof(mp_states) / sizeof(mp_states[0]))

enum {
	V_ARCH, VA_SFLAGS, VA_MP_STATE, MP_MP_STATE, VA_VGIC_CPU, VC_VGIC_V3, V3_ITS_VPE,
	K_ARCH, KA_VGIC, VD_HAS_ITS, VD_INITIALIZED, VD_ITS_VM,
	VM_DOMAIN, VM_VPES, VM_NR_VPES, VM_DB_LPI_BASE, VM_NR_DB_LPIS, VM_VPROP_PAGE,
	VPE_VPT_PAGE, VPE_ITS_VM, VPE_VLPI_COUNT, VPE_IRQ, VPE_DB_LPI, VPE_RESIDENT, VPE_READY,
	VPE_COL_IDX, VPE_VPE_ID, VPE_PENDING_LAST,
	DOM_NAME, DOM_REVMAP_SIZE, DOM_REVMAP_TREE, DOM_REVMAP,
	ID_IRQ, ID_HWIRQ, ID_COMMON, ID_CHIP, ID_CHIP_DATA, IC_NAME, CD_STATE,
	DESC_IRQ_DATA, DESC_DEPTH, DESC_ISTATE,
	GS_HAS_GICV4, GS_HAS_GICV4_1,
	NR_MEMBERS
};

static const struct kpm_member member_tab[NR_MEMBERS + 1] = {
	[V_ARCH] = KPM_MEMBER("kvm_vcpu", arch),
	/* sflags: v6.0+ (vcpu->arch.flags before) */
	[VA_SFLAGS] = KPM_MEMBER_OPT("kvm_vcpu_arch", sflags),
	[VA_MP_STATE] = KPM_MEMBER_OPT("kvm_vcpu_arch", mp_state),
	[MP_MP_STATE] = KPM_MEMBER("kvm_mp_state", mp_state),
	[VA_VGIC_CPU] = KPM_MEMBER("kvm_vcpu_arch", vgic_cpu),
	[VC_VGIC_V3] = KPM_MEMBER("vgic_cpu", vgic_v3),
	[V3_ITS_VPE] = KPM_MEMBER("vgic_v3_cpu_if", its_vpe),
	[K_ARCH] = KPM_MEMBER("kvm", arch),
	[KA_VGIC] = KPM_MEMBER("kvm_arch", vgic),
	[VD_HAS_ITS] = KPM_MEMBER("vgic_dist", has_its),
	[VD_INITIALIZED] = KPM_MEMBER("vgic_dist", initialized),
	[VD_ITS_VM] = KPM_MEMBER("vgic_dist", its_vm),
	[VM_DOMAIN] = KPM_MEMBER("its_vm", domain),
	[VM_VPES] = KPM_MEMBER("its_vm", vpes),
	[VM_NR_VPES] = KPM_MEMBER("its_vm", nr_vpes),
	[VM_DB_LPI_BASE] = KPM_MEMBER("its_vm", db_lpi_base),
	[VM_NR_DB_LPIS] = KPM_MEMBER("its_vm", nr_db_lpis),
	[VM_VPROP_PAGE] = KPM_MEMBER("its_vm", vprop_page),
	[VPE_VPT_PAGE] = KPM_MEMBER("its_vpe", vpt_page),
	[VPE_ITS_VM] = KPM_MEMBER("its_vpe", its_vm),
	[VPE_VLPI_COUNT] = KPM_MEMBER_OPT("its_vpe", vlpi_count),
	[VPE_IRQ] = KPM_MEMBER("its_vpe", irq),
	[VPE_DB_LPI] = KPM_MEMBER("its_vpe", vpe_db_lpi),
	[VPE_RESIDENT] = KPM_MEMBER("its_vpe", resident),
	[VPE_READY] = KPM_MEMBER("its_vpe", ready),
	[VPE_COL_IDX] = KPM_MEMBER("its_vpe", col_idx),
	[VPE_VPE_ID] = KPM_MEMBER("its_vpe", vpe_id),
	[VPE_PENDING_LAST] = KPM_MEMBER("its_vpe", pending_last),
	[DOM_NAME] = KPM_MEMBER("irq_domain", name),
	[DOM_REVMAP_SIZE] = KPM_MEMBER("irq_domain", revmap_size),
	[DOM_REVMAP_TREE] = KPM_MEMBER("irq_domain", revmap_tree),
	[DOM_REVMAP] = KPM_MEMBER("irq_domain", revmap),
	[ID_IRQ] = KPM_MEMBER("irq_data", irq),
	[ID_HWIRQ] = KPM_MEMBER("irq_data", hwirq),
	[ID_COMMON] = KPM_MEMBER("irq_data", common),
	[ID_CHIP] = KPM_MEMBER("irq_data", chip),
	[ID_CHIP_DATA] = KPM_MEMBER("irq_data", chip_data),
	[IC_NAME] = KPM_MEMBER("irq_chip", name),
	[CD_STATE] = KPM_MEMBER("irq_common_data", state_use_accessors),
	[DESC_IRQ_DATA] = KPM_MEMBER("irq_desc", irq_data),
	[DESC_DEPTH] = KPM_MEMBER("irq_desc", depth),
	[DESC_ISTATE] = KPM_MEMBER("irq_desc", core_internal_state__do_not_mess_with_it),
	[GS_HAS_GICV4] = KPM_MEMBER_OPT("vgic_global", has_gicv4),
	[GS_HAS_GICV4_1] = KPM_MEMBER_OPT("vgic_global", has_gicv4_1),
	[NR_MEMBERS] = { NULL },
};

/* The doorbell: the irq_desc of the vPE's Linux irq. */
struct doorbell {
	int found;
	uint64_t desc, irq_data;
	long irq;
	uint64_t hwirq, state, istate;
	long depth;
	int disabled, masked, inprogress, pending;
	char chip[32];
	char err[KPM_ERRLEN];
};

struct vvcpu {
	int have_sflags, have_mp;
	uint64_t sflags, mp_state;
	int in_wfi;			/* IN_WFI set */
	uint64_t vpe;			/* &vcpu->arch.vgic_cpu.vgic_v3.its_vpe */
	int have_vpe;
	uint64_t vpt_page, its_vm, vpe_db_lpi;
	long irq, col_idx, vpe_id, vlpi_count, vpe_index;
	int resident, ready, pending_last;
	struct doorbell db;
	/* resident: what runs on col_idx */
	int have_col_curr;
	uint64_t col_curr;
	int col_pid;
	char col_comm[32];
	char err[KPM_ERRLEN];
};

struct vvm {
	int has_its, initialized, have_its_vm;
	uint64_t its_vm, domain, vpes, db_lpi_base, vprop_page;
	long nr_vpes, nr_db_lpis, revmap_size;
	char domain_name[48];
	uint64_t *vpe_ptr;		/* its_vm.vpes[], nr_vpes */
	struct vvcpu *v;		/* parallel to kpm_kvm_vm.v */
	char err[KPM_ERRLEN];
};

struct vpe_ctx {
	struct kpm_target *t;
	struct kpm_member m[NR_MEMBERS + 1];
	struct kpm_kvm k;
	struct vvm *vm;			/* parallel to k.vm */
	long irqd_disabled, irqd_masked, irqd_inprogress, irqs_pending;
	int have_gs, has_gicv4, has_gicv4_1;
	char release[65];
	int version, sflags_known;
};

#define M(x, i)	(&(x)->m[i])

static int vpe_applies(struct kpm_target *t)
{
	struct kpm_layout l;

	if (kpm_kvm_applies(t))
		return -1;
	if (t->ops->type_size(t, "its_vpe") < 0 ||
	    kpm_lookup_member(t, "kvm_vcpu_arch", "vgic_cpu", &l)) {
		kpm_errf(t, "no struct its_vpe or kvm_vcpu_arch.vgic_cpu in the debug info: not an arm64 KVM host");
		return -1;
	}
	return 0;
}

static void free_ctx(struct vpe_ctx *x)
{
	long i;

	for (i = 0; x->vm && i < x->k.nvm; i++) {
		free(x->vm[i].v);
		free(x->vm[i].vpe_ptr);
	}
	free(x->vm);
	kpm_kvm_free(&x->k);
}

static void read_its_vm(struct vpe_ctx *x, struct kpm_kvm_vm *kvm, struct vvm *vm)
{
	struct kpm_target *t = x->t;
	uint64_t dist = kvm->addr + M(x, K_ARCH)->off + M(x, KA_VGIC)->off, v;
	long i;

	if (kpm_read_member(t, dist, M(x, VD_HAS_ITS), &v)) {
		snprintf(vm->err, sizeof(vm->err), "%.200s", t->err);
		return;
	}
	vm->has_its = !!v;
	if (!kpm_read_member(t, dist, M(x, VD_INITIALIZED), &v))
		vm->initialized = !!v;
	vm->its_vm = dist + M(x, VD_ITS_VM)->off;
	if (kpm_read_member(t, vm->its_vm, M(x, VM_DOMAIN), &vm->domain) ||
	    kpm_read_member(t, vm->its_vm, M(x, VM_VPES), &vm->vpes) ||
	    kpm_read_member(t, vm->its_vm, M(x, VM_NR_VPES), &v) ||
	    kpm_read_member(t, vm->its_vm, M(x, VM_DB_LPI_BASE), &vm->db_lpi_base) ||
	    kpm_read_member(t, vm->its_vm, M(x, VM_VPROP_PAGE), &vm->vprop_page)) {
		snprintf(vm->err, sizeof(vm->err), "its_vm %#" PRIx64 ": %.180s", vm->its_vm, t->err);
		return;
	}
	vm->nr_vpes = kpm_sext(v, M(x, VM_NR_VPES)->size);
	if (!kpm_read_member(t, vm->its_vm, M(x, VM_NR_DB_LPIS), &v))
		vm->nr_db_lpis = kpm_sext(v, M(x, VM_NR_DB_LPIS)->size);
	vm->have_its_vm = 1;
	if (vm->nr_vpes < 0 || vm->nr_vpes > MAX_VPES) {
		snprintf(vm->err, sizeof(vm->err), "its_vm %#" PRIx64 ": nr_vpes %ld is out of range", vm->its_vm,
			 vm->nr_vpes);
		vm->nr_vpes = 0;
		return;
	}
	if (vm->nr_vpes && !kpm_kptr_ok(t, vm->vpes)) {
		snprintf(vm->err, sizeof(vm->err), "its_vm %#" PRIx64 ": vpes %#" PRIx64 " is not a kernel address",
			 vm->its_vm, vm->vpes);
		return;
	}
	if (vm->nr_vpes) {
		vm->vpe_ptr = calloc(vm->nr_vpes, sizeof(*vm->vpe_ptr));
		if (!vm->vpe_ptr)
			return;
		for (i = 0; i < vm->nr_vpes; i++)
			if (kpm_read_ptr(t, vm->vpes + i * kpm_ptr_size(t), &vm->vpe_ptr[i], "its_vm.vpes")) {
				snprintf(vm->err, sizeof(vm->err), "%.200s", t->err);
				break;
			}
	}
	if (vm->domain && kpm_kptr_ok(t, vm->domain)) {
		uint64_t name;

		if (!kpm_read_member(t, vm->domain, M(x, DOM_REVMAP_SIZE), &v))
			vm->revmap_size = (long)(uint32_t)v;
		if (!kpm_read_member(t, vm->domain, M(x, DOM_NAME), &name) && kpm_kptr_ok(t, name))
			kpm_read_string(t, name, vm->domain_name, sizeof(vm->domain_name) - 1, "irq_domain.name");
	}
}

struct revmap_find {
	uint64_t index, entry;
	int found;
};

static int revmap_cb(struct kpm_target *t, uint64_t index, uint64_t entry, void *arg)
{
	struct revmap_find *f = arg;

	(void)t;
	if (index == f->index) {
		f->entry = entry;
		f->found = 1;
		return -1;
	}
	return 0;
}

/*
 * The doorbell's irq_data: the vPE domain maps hwirq i to vpes[i]
 * (its_vpe_irq_domain_alloc), in the linear revmap[] below revmap_size,
 * else in revmap_tree.
 */
static void read_doorbell(struct vpe_ctx *x, const struct vvm *vm, struct vvcpu *v)
{
	struct kpm_target *t = x->t;
	struct doorbell *d = &v->db;
	uint64_t idata, val, common, chip, name, chip_data;

	if (v->vpe_index < 0) {
		snprintf(d->err, sizeof(d->err), "its_vpe %016" PRIx64 " is not in its_vm.vpes (%ld vPEs)", v->vpe,
			 vm->nr_vpes);
		return;
	}
	if (!vm->domain || !kpm_kptr_ok(t, vm->domain)) {
		snprintf(d->err, sizeof(d->err), "its_vm.domain %#" PRIx64 " is not a kernel address", vm->domain);
		return;
	}
	if (v->vpe_index < vm->revmap_size) {
		if (kpm_read_ptr(t, vm->domain + M(x, DOM_REVMAP)->off + v->vpe_index * kpm_ptr_size(t), &idata,
				 "irq_domain.revmap")) {
			snprintf(d->err, sizeof(d->err), "%.200s", t->err);
			return;
		}
	} else {
		struct revmap_find f = { (uint64_t)v->vpe_index, 0, 0 };

		t->err[0] = 0;
		kpm_xa_walk(t, vm->domain + M(x, DOM_REVMAP_TREE)->off, MAX_VPES, revmap_cb, &f);
		if (!f.found) {
			snprintf(d->err, sizeof(d->err), "hwirq %ld is not in the vPE domain's revmap_tree%s%.180s",
				 v->vpe_index, t->err[0] ? ": " : "", t->err);
			return;
		}
		idata = f.entry;
	}
	if (!kpm_kptr_ok(t, idata)) {
		snprintf(d->err, sizeof(d->err), "revmap[%ld] %#" PRIx64 " is not a kernel address", v->vpe_index,
			 idata);
		return;
	}
	d->irq_data = idata;
	d->desc = idata - M(x, DESC_IRQ_DATA)->off;
	if (kpm_read_member(t, idata, M(x, ID_IRQ), &val) ||
	    kpm_read_member(t, idata, M(x, ID_HWIRQ), &d->hwirq) ||
	    kpm_read_member(t, idata, M(x, ID_CHIP_DATA), &chip_data) ||
	    kpm_read_member(t, idata, M(x, ID_COMMON), &common)) {
		snprintf(d->err, sizeof(d->err), "%.200s", t->err);
		return;
	}
	d->irq = (long)(uint32_t)val;
	/* the irq_data must be this vPE's: irq number and chip_data agree */
	if (d->irq != v->irq || chip_data != v->vpe) {
		snprintf(d->err, sizeof(d->err), "vPE domain hwirq %ld: irq_data %016" PRIx64 " is irq %ld, chip_data %#"
			 PRIx64 ", not the vPE's (irq %ld, its_vpe %016" PRIx64 ")", v->vpe_index, idata, d->irq,
			 chip_data, v->irq, v->vpe);
		return;
	}
	if (!kpm_kptr_ok(t, common) || kpm_read_member(t, common, M(x, CD_STATE), &d->state) ||
	    kpm_read_member(t, d->desc, M(x, DESC_DEPTH), &val) ||
	    kpm_read_member(t, d->desc, M(x, DESC_ISTATE), &d->istate)) {
		snprintf(d->err, sizeof(d->err), "irq_desc %016" PRIx64 ": %.180s", d->desc,
			 kpm_kptr_ok(t, common) ? t->err : "irq_data.common is not a kernel address");
		return;
	}
	d->depth = (long)(uint32_t)val;
	d->disabled = x->irqd_disabled > 0 && (d->state & x->irqd_disabled);
	d->masked = x->irqd_masked > 0 && (d->state & x->irqd_masked);
	d->inprogress = x->irqd_inprogress > 0 && (d->state & x->irqd_inprogress);
	d->pending = x->irqs_pending > 0 && (d->istate & x->irqs_pending);
	if (!kpm_read_member(t, idata, M(x, ID_CHIP), &chip) && kpm_kptr_ok(t, chip) &&
	    !kpm_read_member(t, chip, M(x, IC_NAME), &name) && kpm_kptr_ok(t, name))
		kpm_read_string(t, name, d->chip, sizeof(d->chip) - 1, "irq_chip.name");
	d->found = 1;
}

static void read_vcpu(struct vpe_ctx *x, const struct kpm_kvm_vcpu *kv, struct vvm *vm, struct vvcpu *v)
{
	struct kpm_target *t = x->t;
	uint64_t arch = kv->addr + M(x, V_ARCH)->off, val;
	long i;

	v->vpe_index = -1;
	if (kv->err[0])
		return;
	if (kpm_has(M(x, VA_SFLAGS)) && !kpm_read_member(t, arch, M(x, VA_SFLAGS), &v->sflags)) {
		v->have_sflags = 1;
		v->in_wfi = x->sflags_known && (v->sflags & (1u << IN_WFI_BIT));
	}
	if (kpm_has(M(x, VA_MP_STATE)) &&
	    !kpm_read_member(t, arch + M(x, VA_MP_STATE)->off, M(x, MP_MP_STATE), &v->mp_state))
		v->have_mp = 1;
	v->vpe = arch + M(x, VA_VGIC_CPU)->off + M(x, VC_VGIC_V3)->off + M(x, V3_ITS_VPE)->off;
	if (kpm_read_member(t, v->vpe, M(x, VPE_VPT_PAGE), &v->vpt_page) ||
	    kpm_read_member(t, v->vpe, M(x, VPE_ITS_VM), &v->its_vm) ||
	    kpm_read_member(t, v->vpe, M(x, VPE_IRQ), &val)) {
		snprintf(v->err, sizeof(v->err), "its_vpe %016" PRIx64 ": %.180s", v->vpe, t->err);
		return;
	}
	v->irq = kpm_sext(val, M(x, VPE_IRQ)->size);
	if (kpm_read_member(t, v->vpe, M(x, VPE_DB_LPI), &v->vpe_db_lpi) ||
	    kpm_read_member(t, v->vpe, M(x, VPE_RESIDENT), &val)) {
		snprintf(v->err, sizeof(v->err), "its_vpe %016" PRIx64 ": %.180s", v->vpe, t->err);
		return;
	}
	v->resident = !!val;
	if (!kpm_read_member(t, v->vpe, M(x, VPE_READY), &val))
		v->ready = !!val;
	if (!kpm_read_member(t, v->vpe, M(x, VPE_PENDING_LAST), &val))
		v->pending_last = !!val;
	if (!kpm_read_member(t, v->vpe, M(x, VPE_COL_IDX), &val))
		v->col_idx = (long)val;
	if (!kpm_read_member(t, v->vpe, M(x, VPE_VPE_ID), &val))
		v->vpe_id = (long)val;
	v->vlpi_count = -1;
	if (kpm_has(M(x, VPE_VLPI_COUNT)) && !kpm_read_member(t, v->vpe, M(x, VPE_VLPI_COUNT), &val))
		v->vlpi_count = kpm_sext(val, M(x, VPE_VLPI_COUNT)->size);
	v->have_vpe = 1;
	/* a vCPU without a vPE: its VM has no ITS, or GICv4 is off */
	if (!v->its_vm)
		return;
	for (i = 0; vm->vpe_ptr && i < vm->nr_vpes; i++)
		if (vm->vpe_ptr[i] == v->vpe)
			v->vpe_index = i;
	read_doorbell(x, vm, v);
	if (v->resident && v->col_idx >= 0) {
		t->err[0] = 0;
		if (!kpm_cpu_curr(t, (int)v->col_idx, &v->col_curr)) {
			v->have_col_curr = 1;
			if (kpm_task_ident(t, v->col_curr, &v->col_pid, v->col_comm, sizeof(v->col_comm)))
				v->col_pid = -1;
		}
	}
}

static int decode_all(struct vpe_ctx *x, struct kpm_target *t)
{
	uint64_t gs;
	long i, j;

	memset(x, 0, sizeof(*x));
	x->t = t;
	if (vpe_applies(t))
		return -1;
	memcpy(x->m, member_tab, sizeof(member_tab));
	if (kpm_resolve(t, x->m))
		return -1;
	if (t->ops->enum_value(t, "IRQD_IRQ_DISABLED", &x->irqd_disabled))
		x->irqd_disabled = -1;
	if (t->ops->enum_value(t, "IRQD_IRQ_MASKED", &x->irqd_masked))
		x->irqd_masked = -1;
	if (t->ops->enum_value(t, "IRQD_IRQ_INPROGRESS", &x->irqd_inprogress))
		x->irqd_inprogress = -1;
	if (t->ops->enum_value(t, "IRQS_PENDING", &x->irqs_pending))
		x->irqs_pending = -1;
	if (!kpm_kernel_release(t, x->release, sizeof(x->release)))
		x->version = kpm_version_code(x->release);
	x->sflags_known = kpm_has(M(x, VA_SFLAGS)) && x->version >= SFLAGS_FIRST && x->version <= SFLAGS_LAST;
	if (!t->ops->symbol(t, "kvm_vgic_global_state", &gs) && kpm_has(M(x, GS_HAS_GICV4))) {
		uint64_t v;

		if (!kpm_read_member(t, gs, M(x, GS_HAS_GICV4), &v)) {
			x->have_gs = 1;
			x->has_gicv4 = !!v;
			if (kpm_has(M(x, GS_HAS_GICV4_1)) && !kpm_read_member(t, gs, M(x, GS_HAS_GICV4_1), &v))
				x->has_gicv4_1 = !!v;
		}
	}
	t->err[0] = 0;
	if (kpm_kvm_read(t, &x->k))
		return -1;
	x->vm = calloc(x->k.nvm ? x->k.nvm : 1, sizeof(*x->vm));
	if (!x->vm) {
		kpm_kvm_free(&x->k);
		kpm_errf(t, "out of memory");
		return -1;
	}
	for (i = 0; i < x->k.nvm; i++) {
		struct kpm_kvm_vm *kvm = &x->k.vm[i];
		struct vvm *vm = &x->vm[i];

		if (kvm->err[0] && !kvm->nv)
			continue;
		read_its_vm(x, kvm, vm);
		vm->v = calloc(kvm->nv ? kvm->nv : 1, sizeof(*vm->v));
		if (!vm->v)
			continue;
		for (j = 0; j < kvm->nv; j++)
			read_vcpu(x, &kvm->v[j], vm, &vm->v[j]);
	}
	t->err[0] = 0;
	return 0;
}

static const char *mp_name(uint64_t mp)
{
	return mp < NR_MP ? mp_states[mp] : "?";
}

static void sflag_text(const struct vpe_ctx *x, uint64_t sflags, char *buf, size_t len)
{
	if (!x->sflags_known) {
		snprintf(buf, len, "%#" PRIx64, sflags);
		return;
	}
	kpm_flag_names(sflags, sflag_names, 8, "-", buf, len);
}

static void doorbell_text(const struct doorbell *d, char *buf, size_t len)
{
	if (!d->found) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%s%s%s depth %ld", d->disabled ? "disabled" : "enabled", d->masked ? ",masked" : "",
		 d->pending ? ",pending" : "", d->depth);
}

static int task_sleeps(const struct kpm_kvm_vcpu *kv)
{
	return kv->have_state && !kv->state.on_cpu &&
	       (kv->state.letter == 'S' || kv->state.letter == 'D' || kv->state.letter == 'I');
}

static void vpe_data(struct kpm_json *j, const struct kpm_kvm_vm *kvm, const struct kpm_kvm_vcpu *kv,
		     const struct vvcpu *v)
{
	kpm_kvm_vcpu_json(j, kvm, kv);
	kpm_json_hex(j, "its_vpe", v->vpe);
	kpm_json_i64(j, "vpe_id", v->vpe_id);
	kpm_json_i64(j, "irq", v->irq);
	kpm_json_u64(j, "vpe_db_lpi", v->vpe_db_lpi);
	if (v->db.found) {
		kpm_json_hex(j, "irq_desc", v->db.desc);
		kpm_json_i64(j, "depth", v->db.depth);
	}
}

static long diagnose(struct vpe_ctx *x, struct kpm_diag *dg)
{
	struct kpm_json *jd;
	char who[256];
	long n = 0, i, j;

	for (i = 0; i < x->k.nvm; i++)
		for (j = 0; x->vm[i].v && j < x->k.vm[i].nv; j++) {
			const struct kpm_kvm_vm *kvm = &x->k.vm[i];
			const struct kpm_kvm_vcpu *kv = &kvm->v[j];
			const struct vvcpu *v = &x->vm[i].v[j];

			if (!v->have_vpe || !v->its_vm)
				continue;
			kpm_kvm_vcpu_name(kvm, kv, who, sizeof(who));
			/* 1. blocked in WFI, non-resident, no doorbell: sleeps through its vLPIs */
			if (v->in_wfi && !v->resident && v->db.found && (v->db.disabled || v->db.depth > 0)) {
				kpm_diag(dg, 1, "%s: blocked in WFI, vPE %ld non-resident with its doorbell disabled "
					 "(irq %ld, LPI %" PRIu64 ", depth %ld): a vLPI for this vCPU will not wake it",
					 who, v->vpe_id, v->irq, v->vpe_db_lpi, v->db.depth);
				kpm_diag(dg, 0, "sflags %#" PRIx64 " (IN_WFI), thread state %c; irq_desc %016" PRIx64
					 " state %#" PRIx64 "%s%s: KVM puts a vPE non-resident with the doorbell enabled "
					 "when its vCPU blocks (vgic_v4_put(vcpu, true)); b321c31c9b7b (v6.6, 6.1.47) "
					 "fixed the preemption window that lost it",
					 v->sflags, kv->have_state ? kv->state.letter : '?', v->db.desc, v->db.state,
					 v->db.disabled ? " disabled" : "", v->db.masked ? " masked" : "");
				if ((jd = kpm_diag_data(dg))) {
					kpm_json_str(jd, "kind", "blocked_without_doorbell");
					vpe_data(jd, kvm, kv, v);
				}
				n++;
			}
			/* 2. resident on a CPU that does not run its vCPU */
			if (v->resident && v->have_col_curr && v->col_curr != kv->task) {
				kpm_diag(dg, 1, "%s: vPE %ld is resident on CPU %ld, which runs pid %d \"%s\", not the "
					 "vCPU's thread", who, v->vpe_id, v->col_idx, v->col_pid, v->col_comm);
				kpm_diag(dg, 0, "a resident vPE takes its vLPIs on that CPU's redistributor; the vCPU "
					 "(thread state %c) does not see them until it is made resident again",
					 kv->have_state ? kv->state.letter : '?');
				if ((jd = kpm_diag_data(dg))) {
					kpm_json_str(jd, "kind", "resident_elsewhere");
					vpe_data(jd, kvm, kv, v);
					kpm_json_i64(jd, "col_idx", v->col_idx);
					kpm_json_i64(jd, "cpu_pid", v->col_pid);
				}
				n++;
			}
			/* 3. vLPIs pending at the last put, and the vCPU sleeps */
			if (v->pending_last && !v->resident && (v->in_wfi || task_sleeps(kv))) {
				kpm_diag(dg, 1, "%s: vPE %ld has pending_last set (vLPIs were pending when it was put) "
					 "but its vCPU is %s", who, v->vpe_id,
					 v->in_wfi ? "blocked in WFI" : "asleep");
				kpm_diag(dg, 0, "kvm_vcpu_has_pending_irqs() sees pending_last: the vCPU should have been "
					 "woken (thread state %c)", kv->have_state ? kv->state.letter : '?');
				if ((jd = kpm_diag_data(dg))) {
					kpm_json_str(jd, "kind", "pending_last_asleep");
					vpe_data(jd, kvm, kv, v);
				}
				n++;
			}
		}
	return n;
}

static void report_text(struct vpe_ctx *x, FILE *fp)
{
	char sf[128], db[64];
	long i, j;

	fprintf(fp, "KVM VMS (vm_list: %ld)", x->k.nvm);
	if (x->have_gs)
		fprintf(fp, "  GICv4 %s%s", x->has_gicv4 ? "enabled" : "disabled",
			x->has_gicv4_1 ? " (GICv4.1)" : "");
	fputc('\n', fp);
	if (x->k.list_err[0])
		fprintf(fp, "  vm_list: %s\n", x->k.list_err);
	if (!x->k.nvm)
		fprintf(fp, "  (none)\n");
	for (i = 0; i < x->k.nvm; i++) {
		const struct kpm_kvm_vm *kvm = &x->k.vm[i];
		const struct vvm *vm = &x->vm[i];

		fprintf(fp, "  %-16s  %7s  %-16s  %6s  %-16s  %7s  %11s  %10s\n", "KVM", "VMM_PID", "COMM", "ONLINE",
			"ITS_VM", "NR_VPES", "DB_LPI_BASE", "NR_DB_LPIS");
		fprintf(fp, "  %016" PRIx64 "  %7ld  %-16s  %6ld  ", kvm->addr, kvm->userspace_pid,
			kvm->comm[0] ? kvm->comm : "-", kvm->online);
		if (vm->have_its_vm)
			fprintf(fp, "%016" PRIx64 "  %7ld  %11" PRIu64 "  %10ld\n", vm->its_vm, vm->nr_vpes,
				vm->db_lpi_base, vm->nr_db_lpis);
		else
			fprintf(fp, "%-16s  %7s  %11s  %10s\n", "-", "-", "-", "-");
		if (vm->have_its_vm && !vm->nr_vpes)
			fprintf(fp, "    no vPEs: %s\n", vm->has_its ? "GICv4 is not in use for this VM" :
				"the VM has no ITS");
		if (vm->have_its_vm && vm->nr_vpes)
			fprintf(fp, "    vPE domain %016" PRIx64 " \"%s\", vprop_page %016" PRIx64 "\n", vm->domain,
				vm->domain_name, vm->vprop_page);
		if (kvm->err[0])
			fprintf(fp, "    %s\n", kvm->err);
		if (vm->err[0])
			fprintf(fp, "    %s\n", vm->err);
		if (!kvm->nv || !vm->v)
			continue;
		fprintf(fp, "    %7s  %-16s  %7s  %-16s  %2s  %-9s  %-22s  %6s  %-8s  %5s  %12s  %7s  %6s  %6s  %s\n",
			"VCPU_ID", "KVM_VCPU", "PID", "COMM", "ST", "MP_STATE", "SFLAGS", "VPE_ID", "RESIDENT",
			"READY", "PENDING_LAST", "COL_IDX", "DB_IRQ", "DB_LPI", "DOORBELL");
		for (j = 0; j < kvm->nv; j++) {
			const struct kpm_kvm_vcpu *kv = &kvm->v[j];
			const struct vvcpu *v = &vm->v[j];

			if (kv->err[0]) {
				fprintf(fp, "    %7s  %016" PRIx64 "  %s\n", "?", kv->addr, kv->err);
				continue;
			}
			if (v->have_sflags)
				sflag_text(x, v->sflags, sf, sizeof(sf));
			else
				snprintf(sf, sizeof(sf), "?");
			fprintf(fp, "    %7ld  %016" PRIx64 "  %7d  %-16s  %2c  %-9s  %-22s", kv->vcpu_id, kv->addr, kv->pid,
				kv->comm[0] ? kv->comm : "-", kv->have_state ? kv->state.letter : '?',
				v->have_mp ? mp_name(v->mp_state) : "?", sf);
			if (!v->have_vpe) {
				fprintf(fp, "  %s\n", v->err);
				continue;
			}
			doorbell_text(&v->db, db, sizeof(db));
			fprintf(fp, "  %6ld  %-8s  %5s  %12s  %7ld  %6ld  %6" PRIu64 "  %s\n", v->vpe_id,
				v->resident ? "yes" : "no", v->ready ? "yes" : "no", v->pending_last ? "yes" : "no",
				v->col_idx, v->irq, v->vpe_db_lpi, v->its_vm ? db : "-");
			fprintf(fp, "             its_vpe %016" PRIx64 "  vpt_page %016" PRIx64, v->vpe, v->vpt_page);
			if (v->db.found)
				fprintf(fp, "  irq_desc %016" PRIx64 " (%s)", v->db.desc, v->db.chip[0] ? v->db.chip : "?");
			fputc('\n', fp);
			if (v->its_vm && !v->db.found)
				fprintf(fp, "             doorbell: %s\n", v->db.err);
			if (v->resident && v->have_col_curr)
				fprintf(fp, "             resident on CPU %ld, running pid %d \"%s\"\n", v->col_idx, v->col_pid,
					v->col_comm);
		}
	}
	if (!x->sflags_known)
		fprintf(fp, "\nsflags are shown raw: their bits (#defines) are known for v6.0 to v6.12, "
			"this kernel is %s\n", x->release[0] ? x->release : "of unknown version");
}

static void report_json(struct vpe_ctx *x, FILE *fp)
{
	struct kpm_json j;
	struct kpm_diag dg = { .kind = KPM_DIAG_JSON, .j = &j };
	char sf[128];
	long i, k;

	kpm_json_open(&j, fp);
	kpm_json_begin(&j, NULL, '{');
	kpm_json_begin(&j, "diagnosis", '[');
	diagnose(x, &dg);
	kpm_diag_end(&dg);
	kpm_json_end(&j, ']');
	if (x->have_gs) {
		kpm_json_bool(&j, "has_gicv4", x->has_gicv4);
		kpm_json_bool(&j, "has_gicv4_1", x->has_gicv4_1);
	}
	kpm_json_bool(&j, "sflags_known", x->sflags_known);
	if (x->k.list_err[0])
		kpm_json_str(&j, "vm_list_error", x->k.list_err);
	kpm_json_begin(&j, "vms", '[');
	for (i = 0; i < x->k.nvm; i++) {
		const struct kpm_kvm_vm *kvm = &x->k.vm[i];
		const struct vvm *vm = &x->vm[i];

		kpm_json_begin(&j, NULL, '{');
		kpm_json_hex(&j, "addr", kvm->addr);
		kpm_json_i64(&j, "userspace_pid", kvm->userspace_pid);
		kpm_json_str(&j, "comm", kvm->comm);
		kpm_json_hex(&j, "mm", kvm->mm);
		kpm_json_i64(&j, "online_vcpus", kvm->online);
		kpm_json_i64(&j, "created_vcpus", kvm->created);
		if (vm->have_its_vm) {
			kpm_json_bool(&j, "has_its", vm->has_its);
			kpm_json_begin(&j, "its_vm", '{');
			kpm_json_hex(&j, "addr", vm->its_vm);
			kpm_json_hex(&j, "domain", vm->domain);
			kpm_json_str(&j, "domain_name", vm->domain_name);
			kpm_json_hex(&j, "vpes", vm->vpes);
			kpm_json_i64(&j, "nr_vpes", vm->nr_vpes);
			kpm_json_u64(&j, "db_lpi_base", vm->db_lpi_base);
			kpm_json_i64(&j, "nr_db_lpis", vm->nr_db_lpis);
			kpm_json_hex(&j, "vprop_page", vm->vprop_page);
			kpm_json_end(&j, '}');
		}
		if (kvm->err[0] || vm->err[0])
			kpm_json_str(&j, "error", kvm->err[0] ? kvm->err : vm->err);
		kpm_json_begin(&j, "vcpus", '[');
		for (k = 0; vm->v && k < kvm->nv; k++) {
			const struct kpm_kvm_vcpu *kv = &kvm->v[k];
			const struct vvcpu *v = &vm->v[k];
			char st[2] = { kv->have_state ? kv->state.letter : '?', 0 };

			kpm_json_begin(&j, NULL, '{');
			kpm_json_hex(&j, "addr", kv->addr);
			kpm_json_i64(&j, "vcpu_id", kv->vcpu_id);
			kpm_json_i64(&j, "pid", kv->pid);
			kpm_json_str(&j, "comm", kv->comm);
			kpm_json_str(&j, "task_state", st);
			if (kv->have_state) {
				kpm_json_bool(&j, "on_cpu", kv->state.on_cpu);
				kpm_json_i64(&j, "task_cpu", kv->state.cpu);
			}
			kpm_json_i64(&j, "cpu", kv->cpu);
			if (v->have_sflags) {
				kpm_json_hex(&j, "sflags", v->sflags);
				if (x->sflags_known) {
					sflag_text(x, v->sflags, sf, sizeof(sf));
					kpm_json_str(&j, "sflags_names", sf);
					kpm_json_bool(&j, "in_wfi", v->in_wfi);
				}
			}
			if (v->have_mp) {
				kpm_json_u64(&j, "mp_state", v->mp_state);
				kpm_json_str(&j, "mp_state_name", mp_name(v->mp_state));
			}
			if (v->have_vpe) {
				kpm_json_begin(&j, "its_vpe", '{');
				kpm_json_hex(&j, "addr", v->vpe);
				kpm_json_hex(&j, "its_vm", v->its_vm);
				kpm_json_i64(&j, "vpe_id", v->vpe_id);
				kpm_json_bool(&j, "resident", v->resident);
				kpm_json_bool(&j, "ready", v->ready);
				kpm_json_bool(&j, "pending_last", v->pending_last);
				kpm_json_i64(&j, "col_idx", v->col_idx);
				kpm_json_u64(&j, "vpe_db_lpi", v->vpe_db_lpi);
				kpm_json_i64(&j, "irq", v->irq);
				kpm_json_hex(&j, "vpt_page", v->vpt_page);
				if (v->vlpi_count >= 0)
					kpm_json_i64(&j, "vlpi_count", v->vlpi_count);
				kpm_json_end(&j, '}');
			}
			if (v->db.found) {
				kpm_json_begin(&j, "doorbell", '{');
				kpm_json_hex(&j, "irq_desc", v->db.desc);
				kpm_json_i64(&j, "irq", v->db.irq);
				kpm_json_u64(&j, "hwirq", v->db.hwirq);
				kpm_json_str(&j, "chip", v->db.chip);
				kpm_json_i64(&j, "depth", v->db.depth);
				kpm_json_hex(&j, "state_use_accessors", v->db.state);
				kpm_json_hex(&j, "istate", v->db.istate);
				kpm_json_bool(&j, "disabled", v->db.disabled);
				kpm_json_bool(&j, "masked", v->db.masked);
				kpm_json_bool(&j, "pending", v->db.pending);
				kpm_json_end(&j, '}');
			} else if (v->have_vpe && v->its_vm) {
				kpm_json_str(&j, "doorbell_error", v->db.err);
			}
			if (v->resident && v->have_col_curr) {
				kpm_json_i64(&j, "col_idx_pid", v->col_pid);
				kpm_json_str(&j, "col_idx_comm", v->col_comm);
			}
			if (kv->err[0] || v->err[0])
				kpm_json_str(&j, "error", kv->err[0] ? kv->err : v->err);
			kpm_json_end(&j, '}');
		}
		kpm_json_end(&j, ']');
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	kpm_json_end(&j, '}');
	kpm_json_close(&j);
}

static long vpe_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	struct vpe_ctx x;
	struct kpm_diag dg = { .kind = KPM_DIAG_TEXT, .fp = fp };
	long n;

	if (decode_all(&x, t))
		return -1;
	if (kpm_opt_given(a, 'j')) {
		report_json(&x, fp);
		n = diagnose(&x, &(struct kpm_diag){ .kind = KPM_DIAG_COUNT });
		free_ctx(&x);
		return n;
	}
	fprintf(fp, "GICV4 VPE DIAGNOSIS\n");
	n = diagnose(&x, &dg);
	if (!n)
		fprintf(fp, "  nothing wrong found\n");
	fputc('\n', fp);
	report_text(&x, fp);
	free_ctx(&x);
	return n;
}

static int vpe_triage(struct kpm_target *t, struct kpm_triage *tr)
{
	struct vpe_ctx x;
	long i, j, nv = 0, nvpe = 0;

	if (decode_all(&x, t))
		return -1;
	diagnose(&x, &(struct kpm_diag){ .kind = KPM_DIAG_TRIAGE, .tr = tr });
	if (x.k.list_err[0])
		kpm_tr_partial(tr, "vm_list: %s", x.k.list_err);
	for (i = 0; i < x.k.nvm; i++) {
		if (x.k.vm[i].err[0])
			kpm_tr_partial(tr, "kvm %016" PRIx64 ": %s", x.k.vm[i].addr, x.k.vm[i].err);
		if (x.vm[i].err[0])
			kpm_tr_partial(tr, "kvm %016" PRIx64 ": %s", x.k.vm[i].addr, x.vm[i].err);
		for (j = 0; j < x.k.vm[i].nv; j++) {
			const struct vvcpu *v = x.vm[i].v ? &x.vm[i].v[j] : NULL;

			nv++;
			if (x.k.vm[i].v[j].err[0])
				kpm_tr_partial(tr, "kvm_vcpu %016" PRIx64 ": %s", x.k.vm[i].v[j].addr, x.k.vm[i].v[j].err);
			else if (v && v->err[0])
				kpm_tr_partial(tr, "kvm_vcpu %016" PRIx64 ": %s", x.k.vm[i].v[j].addr, v->err);
			else if (v && v->its_vm && !v->db.found)
				kpm_tr_partial(tr, "kvm_vcpu %016" PRIx64 ": doorbell: %s", x.k.vm[i].v[j].addr,
					       v->db.err);
			if (v && v->have_vpe && v->its_vm)
				nvpe++;
		}
	}
	kpm_tr_info(tr, "%ld VM%s, %ld vCPU%s, %ld vPE%s", x.k.nvm, x.k.nvm == 1 ? "" : "s", nv,
		    nv == 1 ? "" : "s", nvpe, nvpe == 1 ? "" : "s");
	free_ctx(&x);
	return 0;
}

/* drgn's for_each_vgic_vpe(): the its_vpe of every vCPU of a VM */
static long vpe_objects(struct kpm_target *t, uint64_t kvm, uint64_t *out, long max)
{
	struct kpm_member m[] = {
		KPM_MEMBER("kvm_vcpu", arch),
		KPM_MEMBER("kvm_vcpu_arch", vgic_cpu),
		KPM_MEMBER("vgic_cpu", vgic_v3),
		KPM_MEMBER("vgic_v3_cpu_if", its_vpe),
		{ 0 }
	};
	uint64_t *vcpus;
	long n, i;

	if (vpe_applies(t) || kpm_resolve(t, m))
		return -1;
	vcpus = calloc(max > 0 ? max : 1, sizeof(*vcpus));
	if (!vcpus)
		return -1;
	n = kpm_kvm_vcpu_objects(t, kvm, vcpus, max);
	for (i = 0; i < n && i < max; i++)
		out[i] = vcpus[i] + m[0].off + m[1].off + m[2].off + m[3].off;
	free(vcpus);
	return n;
}

static const struct kpm_objects vpe_objs[] = {
	{ "kvm", "struct kvm *", NULL, kpm_kvm_vm_objects },
	{ "vcpu", "struct kvm_vcpu *", "kvm", kpm_kvm_vcpu_objects },
	{ "vpe", "struct its_vpe *", "kvm", vpe_objects },
	{ 0 },
};

static const struct kpm_opt vpe_opts[] = {
	{ 'j', KPM_OPT_FLAG, NULL, "JSON output" },
	{ 0 },
};

static const char *const vpe_help[] = {
	"  Finds every VM on vm_list and every vCPU in its vcpu_array of an arm64",
	"  KVM host and prints, per VM, the VMM (pid and comm) and the GICv4 vPE",
	"  table KVM keeps in kvm->arch.vgic.its_vm (number of vPEs, the doorbell",
	"  LPI range); per vCPU, the thread that runs it and its state, the vCPU's",
	"  sflags by name (IN_WFI: blocked in WFI), mp_state, and its vPE",
	"  (vcpu->arch.vgic_cpu.vgic_v3.its_vpe): vpe_id, resident, ready,",
	"  pending_last, col_idx (the CPU it is resident on), the doorbell LPI",
	"  and irq, vpt_page; and the doorbell's irq_desc, found through the vPE",
	"  irq domain: enabled or disabled, masked, depth, pending.",
	"",
	"  The diagnosis comes first: a vCPU blocked in WFI whose vPE is",
	"  non-resident with its doorbell disabled, so that a vLPI for it will",
	"  not wake it (the bug b321c31c9b7b fixes); a resident vPE whose CPU",
	"  runs another task than its vCPU's thread; a vPE with pending_last set",
	"  whose vCPU sleeps.  A running vCPU's doorbell is disabled while its vPE",
	"  is resident: that is normal (GICv4.0).",
	"",
	"  The sflags bits are #defines, not in the debug info: those of v6.0",
	"  through v6.12 are used, and other kernels' sflags are shown raw.",
	"",
	"    -j  print the same as JSON; keys are the kernel's member names.",
	"",
	"  An object that cannot be read (a page excluded from the dump, a garbage",
	"  pointer) is reported on one line and the walk goes on.",
	"\nEXAMPLE",
	"  The 6.1 lost-doorbell fixture: a vCPU blocked in WFI whose doorbell was",
	"  left disabled:",
	"",
	"    crash> vpe",
	"    GICV4 VPE DIAGNOSIS",
	"      VM ffff000002229000 (VMM pid 43 \"kpm_vmm_arm64\") vCPU 1 (pid 50 \"kpm-vcpu-1.1\"): blocked in WFI, vPE 3 non-resident with its doorbell disabled (irq 19, LPI 8195, depth 1): a vLPI for this vCPU will not wake it",
	"    ...",
	"              1  ffff000002308000       50  kpm-vcpu-1.1       S  RUNNABLE   IN_WFI                       3  no           no            no        1      19    8195  disabled,masked depth 1",
	"                 its_vpe ffff000002308f50  vpt_page fffffc000008e000  irq_desc ffff000002200600 (GICv4-vpe)",
	NULL
};

KPM_DECODER(vpe_decoder) = {
	.name = "vpe",
	.summary = "arm64 KVM GICv4 vPEs: residency, doorbells, vCPUs blocked in WFI",
	.synopsis = "[-j]",
	.help = vpe_help,
	.opts = vpe_opts,
	.triage_order = 50,
	.applies = vpe_applies,
	.report = vpe_report,
	.triage = vpe_triage,
	.objects = vpe_objs,
};
