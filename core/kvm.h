/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpm decoder core: KVM's VMs and vCPUs, shared by the decoders of KVM
 * state of any architecture (kvmfpu on x86, vpe on arm64).
 *
 * Every VM on vm_list, the task of the VMM that created it
 * (kvm->userspace_pid), every vCPU in its vcpu_array (an xarray since
 * v5.16) and the thread that runs it (pid_task(vcpu->pid, PIDTYPE_PID)).
 * Each walk is bounded; a VM or vCPU that cannot be read keeps its error
 * and the walk goes on.
 */
#ifndef KPM_KVM_H
#define KPM_KVM_H

#include "target.h"
#include "kernel.h"

#define KPM_KVM_MAX_VMS		4096
#define KPM_KVM_MAX_VCPUS	4096	/* KVM_MAX_VCPUS: 1024 (4096 with MAXSMP) */

struct kpm_kvm_vcpu {
	uint64_t addr;			/* struct kvm_vcpu */
	uint64_t index;			/* in vcpu_array */
	long cpu, vcpu_id, vcpu_idx, mode;
	int pid;			/* -1: none or unreadable */
	uint64_t task;			/* 0: unknown */
	char comm[32];
	int have_state;
	struct kpm_task_state state;
	char err[KPM_ERRLEN];		/* the vCPU could not be read */
};

struct kpm_kvm_vm {
	uint64_t addr, mm;
	long userspace_pid, online, created;
	char comm[32];			/* the VMM's, "" when not found */
	struct kpm_kvm_vcpu *v;
	long nv;
	char err[KPM_ERRLEN];
};

struct kpm_kvm_task {
	int pid;
	uint64_t task;
	char comm[32];
};

struct kpm_kvm {
	struct kpm_kvm_vm *vm;
	long nvm;
	char list_err[KPM_ERRLEN];	/* vm_list stopped early */
	struct kpm_kvm_task *tasks;
	long ntasks;
	long mode_value[4];		/* enum vcpu mode values, -1 unknown */
};

/* 0 when the kernel has KVM and its debug info; else -1 with t->err. */
int kpm_kvm_applies(struct kpm_target *t);
/* Read every VM and vCPU: 0, or -1 with t->err (nothing to read). */
int kpm_kvm_read(struct kpm_target *t, struct kpm_kvm *k);
void kpm_kvm_free(struct kpm_kvm *k);
/* vcpu->mode by its enumerator (OUTSIDE_GUEST_MODE ...), or NULL. */
const char *kpm_kvm_mode_name(const struct kpm_kvm *k, long mode);
/* VM ffff... (VMM pid N "comm") vCPU N (pid N "comm") */
void kpm_kvm_vcpu_name(const struct kpm_kvm_vm *vm, const struct kpm_kvm_vcpu *v, char *buf,
		       size_t len);
/* The VMM's and the vCPU's identity as JSON members (triage data). */
void kpm_kvm_vcpu_json(struct kpm_json *j, const struct kpm_kvm_vm *vm,
		       const struct kpm_kvm_vcpu *v);
/* drgn object iterators: struct kvm * (parent unused), struct kvm_vcpu *. */
long kpm_kvm_vm_objects(struct kpm_target *t, uint64_t parent, uint64_t *out, long max);
long kpm_kvm_vcpu_objects(struct kpm_target *t, uint64_t kvm, uint64_t *out, long max);

#endif
