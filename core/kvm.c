// SPDX-License-Identifier: GPL-2.0
/* kpm decoder core: KVM's VMs and vCPUs (see kvm.h). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kvm.h"

#define MAX_TASKS	(1L << 22)

static const char *const vcpu_modes[] = {
	"OUTSIDE_GUEST_MODE", "IN_GUEST_MODE", "EXITING_GUEST_MODE", "READING_SHADOW_PAGE_TABLES",
};
#define NR_MODES	(sizeof(vcpu_modes) / sizeof(vcpu_modes[0]))

enum {
	K_VM_LIST, K_MM, K_USERSPACE_PID, K_ONLINE_VCPUS, K_CREATED_VCPUS, K_VCPU_ARRAY,
	V_CPU, V_VCPU_ID, V_VCPU_IDX, V_MODE, V_PID,
	PID_NUMBERS, PID_TASKS, UPID_NR, HH_FIRST, T_PID_LINKS,
	LH_NEXT, LH_PREV,
	NR_MEMBERS
};

static const struct kpm_member member_tab[NR_MEMBERS + 1] = {
	[K_VM_LIST] = KPM_MEMBER("kvm", vm_list),
	[K_MM] = KPM_MEMBER("kvm", mm),
	[K_USERSPACE_PID] = KPM_MEMBER_OPT("kvm", userspace_pid),	/* v5.14+ */
	[K_ONLINE_VCPUS] = KPM_MEMBER("kvm", online_vcpus),
	[K_CREATED_VCPUS] = KPM_MEMBER("kvm", created_vcpus),
	/* vcpu_array: an xarray since v5.16 (vcpus[] before) */
	[K_VCPU_ARRAY] = KPM_MEMBER("kvm", vcpu_array),
	[V_CPU] = KPM_MEMBER("kvm_vcpu", cpu),
	[V_VCPU_ID] = KPM_MEMBER("kvm_vcpu", vcpu_id),
	[V_VCPU_IDX] = KPM_MEMBER_OPT("kvm_vcpu", vcpu_idx),
	[V_MODE] = KPM_MEMBER("kvm_vcpu", mode),
	[V_PID] = KPM_MEMBER("kvm_vcpu", pid),
	[PID_NUMBERS] = KPM_MEMBER("pid", numbers),
	[PID_TASKS] = KPM_MEMBER("pid", tasks),
	[UPID_NR] = KPM_MEMBER("upid", nr),
	[HH_FIRST] = KPM_MEMBER("hlist_head", first),
	[T_PID_LINKS] = KPM_MEMBER("task_struct", pid_links),
	[LH_NEXT] = KPM_MEMBER("list_head", next),
	[LH_PREV] = KPM_MEMBER("list_head", prev),
	[NR_MEMBERS] = { NULL },
};

struct walk {
	struct kpm_target *t;
	struct kpm_member m[NR_MEMBERS + 1];
	struct kpm_kvm *k;
	uint64_t vm_list;
	long pidtype_pid, psz;
};

#define M(w, i)	(&(w)->m[i])

int kpm_kvm_applies(struct kpm_target *t)
{
	uint64_t a;

	if (kpm_module_symbol(t, "vm_list", "kvm", &a))
		return -1;
	if (t->ops->type_size(t, "kvm_vcpu") < 0 || t->ops->type_size(t, "kvm_vcpu_arch") < 0) {
		kpm_errf(t, "no struct kvm_vcpu in the debug info: load kvm's (mod -s kvm)");
		return -1;
	}
	return 0;
}

static int walk_init(struct walk *w, struct kpm_target *t, struct kpm_kvm *k)
{
	memset(w, 0, sizeof(*w));
	w->t = t;
	w->k = k;
	if (kpm_kvm_applies(t))
		return -1;
	memcpy(w->m, member_tab, sizeof(member_tab));
	if (kpm_resolve(t, w->m))
		return -1;
	t->ops->symbol(t, "vm_list", &w->vm_list);
	w->psz = kpm_ptr_size(t);
	/* PIDTYPE_PID is 0 in every kernel (include/linux/pid.h) */
	if (t->ops->enum_value(t, "PIDTYPE_PID", &w->pidtype_pid))
		w->pidtype_pid = 0;
	return 0;
}

void kpm_kvm_free(struct kpm_kvm *k)
{
	long i;

	for (i = 0; i < k->nvm; i++)
		free(k->vm[i].v);
	free(k->vm);
	free(k->tasks);
	memset(k, 0, sizeof(*k));
}

const char *kpm_kvm_mode_name(const struct kpm_kvm *k, long mode)
{
	return kpm_enum_name(k->mode_value, vcpu_modes, NR_MODES, mode);
}

void kpm_kvm_vcpu_name(const struct kpm_kvm_vm *vm, const struct kpm_kvm_vcpu *v, char *buf,
		       size_t len)
{
	snprintf(buf, len, "VM %016" PRIx64 " (VMM pid %ld \"%s\") vCPU %ld (pid %d \"%s\")", vm->addr,
		 vm->userspace_pid, vm->comm, v->vcpu_id, v->pid, v->comm);
}

void kpm_kvm_vcpu_json(struct kpm_json *j, const struct kpm_kvm_vm *vm,
		       const struct kpm_kvm_vcpu *v)
{
	kpm_json_hex(j, "kvm", vm->addr);
	kpm_json_i64(j, "userspace_pid", vm->userspace_pid);
	kpm_json_hex(j, "vcpu", v->addr);
	kpm_json_i64(j, "vcpu_id", v->vcpu_id);
	kpm_json_i64(j, "pid", v->pid);
	kpm_json_str(j, "comm", v->comm);
}

static int task_cb(struct kpm_target *t, uint64_t task, void *arg)
{
	struct kpm_kvm *k = arg;
	struct kpm_kvm_task *n;

	if (!(k->ntasks & (k->ntasks - 1)) || !k->tasks) {
		long cap = k->ntasks ? 2 * k->ntasks : 64;

		n = realloc(k->tasks, cap * sizeof(*n));
		if (!n)
			return -1;
		k->tasks = n;
	}
	n = &k->tasks[k->ntasks];
	n->task = task;
	if (kpm_task_ident(t, task, &n->pid, n->comm, sizeof(n->comm)))
		return 0;
	k->ntasks++;
	return 0;
}

static const struct kpm_kvm_task *task_by_pid(const struct kpm_kvm *k, long pid)
{
	long i;

	for (i = 0; i < k->ntasks; i++)
		if (k->tasks[i].pid == pid)
			return &k->tasks[i];
	return NULL;
}

/* The task of a struct pid (pid_task(pid, PIDTYPE_PID)) and its number. */
static void vcpu_task(struct walk *w, struct kpm_kvm_vcpu *v, uint64_t pid)
{
	struct kpm_target *t = w->t;
	uint64_t nr, first;
	int tpid;

	v->pid = -1;
	if (!pid)
		return;
	if (!kpm_kptr_ok(t, pid) ||
	    kpm_read_member(t, pid + M(w, PID_NUMBERS)->off, M(w, UPID_NR), &nr))
		return;
	v->pid = (int)(int32_t)(uint32_t)nr;
	if (kpm_read_member(t, pid + M(w, PID_TASKS)->off + w->pidtype_pid * M(w, HH_FIRST)->size,
			    M(w, HH_FIRST), &first) || !kpm_kptr_ok(t, first))
		return;
	/* pid_links[PIDTYPE_PID]: hlist_nodes, two pointers each */
	v->task = first - M(w, T_PID_LINKS)->off - w->pidtype_pid * 2 * w->psz;
	if (kpm_task_ident(t, v->task, &tpid, v->comm, sizeof(v->comm)) || tpid != v->pid) {
		snprintf(v->comm, sizeof(v->comm), "?");
		return;
	}
	v->have_state = !kpm_task_state(t, v->task, &v->state);
}

static int vcpu_cb(struct kpm_target *t, uint64_t index, uint64_t entry, void *arg)
{
	struct kpm_kvm_vm *vm = arg;
	struct kpm_kvm_vcpu *v;

	(void)t;
	if (vm->nv == KPM_KVM_MAX_VCPUS)
		return -1;
	if (!(vm->nv & (vm->nv - 1)) || !vm->v) {
		long cap = vm->nv ? 2 * vm->nv : 4;
		struct kpm_kvm_vcpu *n = realloc(vm->v, cap * sizeof(*n));

		if (!n)
			return -1;
		vm->v = n;
	}
	v = &vm->v[vm->nv++];
	memset(v, 0, sizeof(*v));
	v->addr = entry;
	v->index = index;
	v->pid = -1;
	v->cpu = -1;
	return 0;
}

static void read_vcpu(struct walk *w, struct kpm_kvm_vcpu *v)
{
	struct kpm_target *t = w->t;
	uint64_t val, pid;

	if (!kpm_kptr_ok(t, v->addr)) {
		snprintf(v->err, sizeof(v->err), "vcpu_array[%" PRIu64 "] %#" PRIx64 " is not a kernel address",
			 v->index, v->addr);
		return;
	}
	if (kpm_read_member(t, v->addr, M(w, V_VCPU_ID), &val)) {
		snprintf(v->err, sizeof(v->err), "%.200s", t->err);
		return;
	}
	v->vcpu_id = kpm_sext(val, M(w, V_VCPU_ID)->size);
	v->vcpu_idx = -1;
	if (kpm_has(M(w, V_VCPU_IDX)) && !kpm_read_member(t, v->addr, M(w, V_VCPU_IDX), &val))
		v->vcpu_idx = kpm_sext(val, M(w, V_VCPU_IDX)->size);
	if (!kpm_read_member(t, v->addr, M(w, V_CPU), &val))
		v->cpu = kpm_sext(val, M(w, V_CPU)->size);
	if (!kpm_read_member(t, v->addr, M(w, V_MODE), &val))
		v->mode = kpm_sext(val, M(w, V_MODE)->size);
	if (!kpm_read_member(t, v->addr, M(w, V_PID), &pid))
		vcpu_task(w, v, pid);
}

static int vm_cb(struct kpm_target *t, uint64_t node, void *arg)
{
	struct walk *w = arg;
	struct kpm_kvm *k = w->k;
	struct kpm_kvm_vm *vm, *n;

	(void)t;
	if (k->nvm == KPM_KVM_MAX_VMS)
		return -1;
	n = realloc(k->vm, (k->nvm + 1) * sizeof(*n));
	if (!n)
		return -1;
	k->vm = n;
	vm = &k->vm[k->nvm++];
	memset(vm, 0, sizeof(*vm));
	vm->addr = node - M(w, K_VM_LIST)->off;
	vm->userspace_pid = -1;
	return 0;
}

static void read_vm(struct walk *w, struct kpm_kvm_vm *vm)
{
	struct kpm_target *t = w->t;
	const struct kpm_kvm_task *ti;
	uint64_t v;
	long i;

	if (kpm_read_member(t, vm->addr, M(w, K_MM), &vm->mm) ||
	    kpm_read_uint(t, vm->addr + M(w, K_ONLINE_VCPUS)->off, 4, &v, "kvm.online_vcpus")) {
		snprintf(vm->err, sizeof(vm->err), "%.200s", t->err);
		return;
	}
	vm->online = (long)(int32_t)(uint32_t)v;
	if (!kpm_read_member(t, vm->addr, M(w, K_CREATED_VCPUS), &v))
		vm->created = kpm_sext(v, M(w, K_CREATED_VCPUS)->size);
	if (kpm_has(M(w, K_USERSPACE_PID)) && !kpm_read_member(t, vm->addr, M(w, K_USERSPACE_PID), &v))
		vm->userspace_pid = kpm_sext(v, M(w, K_USERSPACE_PID)->size);
	ti = task_by_pid(w->k, vm->userspace_pid);
	if (ti)
		snprintf(vm->comm, sizeof(vm->comm), "%s", ti->comm);
	t->err[0] = 0;
	if (kpm_xa_walk(t, vm->addr + M(w, K_VCPU_ARRAY)->off, KPM_KVM_MAX_VCPUS, vcpu_cb, vm) < 0)
		snprintf(vm->err, sizeof(vm->err), "vcpu_array: %.200s", t->err[0] ? t->err : "out of memory");
	for (i = 0; i < vm->nv; i++)
		read_vcpu(w, &vm->v[i]);
}

int kpm_kvm_read(struct kpm_target *t, struct kpm_kvm *k)
{
	struct walk w;
	long i;

	memset(k, 0, sizeof(*k));
	if (walk_init(&w, t, k))
		return -1;
	kpm_enum_table(t, "", vcpu_modes, k->mode_value, NR_MODES);
	t->err[0] = 0;
	if (kpm_list_walk(t, w.vm_list, M(&w, LH_NEXT)->off, M(&w, LH_PREV)->off, KPM_KVM_MAX_VMS,
			  vm_cb, &w) < 0)
		snprintf(k->list_err, sizeof(k->list_err), "%.200s", t->err[0] ? t->err : "out of memory");
	t->err[0] = 0;
	kpm_task_walk(t, MAX_TASKS, task_cb, k);
	for (i = 0; i < k->nvm; i++)
		read_vm(&w, &k->vm[i]);
	t->err[0] = 0;
	return 0;
}

long kpm_kvm_vm_objects(struct kpm_target *t, uint64_t parent, uint64_t *out, long max)
{
	struct kpm_kvm k = { 0 };
	struct walk w;
	char err[KPM_ERRLEN] = "";
	long i, n;

	(void)parent;
	if (walk_init(&w, t, &k))
		return -1;
	t->err[0] = 0;
	if (kpm_list_walk(t, w.vm_list, M(&w, LH_NEXT)->off, M(&w, LH_PREV)->off, KPM_KVM_MAX_VMS,
			  vm_cb, &w) < 0)
		snprintf(err, sizeof(err), "vm_list: %.200s", t->err);
	for (i = 0; i < k.nvm && i < max; i++)
		out[i] = k.vm[i].addr;
	n = k.nvm;
	kpm_kvm_free(&k);
	t->err[0] = 0;
	if (err[0])
		kpm_errf(t, "%s", err);
	return n;
}

long kpm_kvm_vcpu_objects(struct kpm_target *t, uint64_t kvm, uint64_t *out, long max)
{
	struct kpm_kvm k = { 0 };
	struct kpm_kvm_vm vm = { 0 };
	struct walk w;
	char err[KPM_ERRLEN] = "";
	long i, n;

	if (walk_init(&w, t, &k))
		return -1;
	t->err[0] = 0;
	if (kpm_xa_walk(t, kvm + M(&w, K_VCPU_ARRAY)->off, KPM_KVM_MAX_VCPUS, vcpu_cb, &vm) < 0)
		snprintf(err, sizeof(err), "vcpu_array: %.200s", t->err);
	for (i = 0; i < vm.nv && i < max; i++)
		out[i] = vm.v[i].addr;
	n = vm.nv;
	free(vm.v);
	t->err[0] = 0;
	if (err[0])
		kpm_errf(t, "%s", err);
	return n;
}
