// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder: AMD KFD processes, their per-device data, and the process
 * contexts the host handed to the MES firmware (seed 000).
 *
 * KFD gives MES a per-process context address, proc_ctx_gpu_addr of a
 * struct kfd_process_device, when the process's first queue is added or
 * the debugger sets shader debug state (SET_SHADER_DEBUGGER).  A process
 * that ends leaves that address inside MES unless the kernel flushes it
 * (amdgpu_mes_flush_shader_debugger(), bd33bb1409b4, v6.8; limited to MES
 * devices later); a new process that gets the same address then runs with
 * the stale state, or MES touches a freed object.
 *
 * Processes are found three ways, since a dying one has left the table:
 *   - kfd_processes_table (DEFINE_HASHTABLE keyed by mm): live processes;
 *   - the open /dev/kfd files of every task (f_op == &kfd_fops,
 *     private_data the kfd_process): also processes whose mm is gone
 *     (unhashed by the mmu notifier's release) but that a file keeps;
 *   - release_work pending (WORK_STRUCT_PENDING in work_struct.data): the
 *     last reference is gone and kfd_process_wq_release is queued.
 * Each device a pdd names gives the MES block of its amdgpu_device: the
 * scheduler and KIQ versions and the scheduler ring (mes.ring[0]), whose
 * API frames are decoded backwards from wptr with the kernel's own
 * MES API unions from debug info.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"
#include "kernel.h"

/*
 * KFD_PROCESS_TABLE_SIZE: 5 bits, a #define in amdkfd/kfd_process.c, the
 * same from v4.1 through v6.12; the table's size cannot come from debug
 * info of a module without it, so a table symbol whose neighbour starts
 * sooner is caught by the hlist checks instead.
 */
#define KFD_TABLE_BUCKETS	32
/* WORK_STRUCT_PENDING_BIT: bit 0 of work_struct.data since v2.6.20. */
#define WORK_PENDING		1ULL
/*
 * SET_SHADER_DEBUGGER.flags.process_ctx_flush: bit 31 of the flags word
 * (include/mes_v11_api_def.h since v6.8; an anonymous union member that
 * debug info cannot be asked for by name).
 */
#define MES_PROCESS_CTX_FLUSH	(1U << 31)
#define MAX_PROCS	4096
#define MAX_GPUS	64	/* MAX_GPU_INSTANCE (kfd_priv.h) */
#define MAX_PDDS	64		/* kfd_process.pdds[] bound (64 in 6.12, 16 in 6.1) */
#define MAX_QUEUES	1024		/* KFD_MAX_NUM_OF_QUEUES_PER_PROCESS */
#define MAX_TASKS	(1L << 22)
#define MAX_FDS		(1U << 20)	/* NR_OPEN */
#define MAX_FRAMES	1024
#define MAX_SHOWN	16		/* recent MES API packets shown without -a */
#define CTX_BYTES	64		/* -x: the first bytes of a process context */

enum {
	P_NODE, P_MM, P_REF, P_RELEASE_WORK, P_LEAD, P_PASID, P_PDDS, P_N_PDDS,
	P_DEBUG_TRAP, P_DBG_FLAGS, P_RUNTIME_INFO, RI_RUNTIME_STATE,
	KREF_REFCOUNT, RC_REFS, WORK_DATA,
	D_DEV, D_QPD, D_ALREADY_DEQUEUED, D_RUNTIME_INUSE, D_PROC_CTX_BO, D_PROC_CTX_GPU,
	D_PROC_CTX_CPU, D_SPI_OVERRIDE, D_SPI_LAUNCH, D_WATCH, D_USER_GPU_ID,
	QPD_QUEUES_LIST, QPD_QUEUE_COUNT,
	Q_LIST, Q_PROPERTIES, QP_TYPE, QP_QUEUE_ID, QP_DOORBELL_OFF, QP_IS_ACTIVE, QP_IS_EVICTED,
	N_ID, N_ADEV, N_KFD, K_ID, K_ADEV, K_SHARED, SR_ENABLE_MES,
	A_ENABLE_MES, A_MES, M_SCHED_VERSION, M_KIQ_VERSION, M_RING,
	R_RING, R_WPTR, R_RING_SIZE, R_BUF_MASK, R_GPU_ADDR, R_NAME,
	F_OP, F_PRIVATE,
	H_TYPE, H_OPCODE, H_DWSIZE,
	MI_OPCODE, MI_SSD, SSD_CTX, SSD_FLAGS, SSD_SPI, SSD_TRAP,
	AQ_PROCESS_ID, AQ_CTX, AQ_DOORBELL, RQ_DOORBELL,
	LH_NEXT, LH_PREV,
	NR_MEMBERS
};

static const struct kpm_member member_tab[NR_MEMBERS + 1] = {
	[P_NODE] = KPM_MEMBER("kfd_process", kfd_processes),
	[P_MM] = KPM_MEMBER("kfd_process", mm),
	[P_REF] = KPM_MEMBER("kfd_process", ref),
	[P_RELEASE_WORK] = KPM_MEMBER("kfd_process", release_work),
	[P_LEAD] = KPM_MEMBER("kfd_process", lead_thread),
	[P_PASID] = KPM_MEMBER("kfd_process", pasid),
	[P_PDDS] = KPM_MEMBER("kfd_process", pdds),
	[P_N_PDDS] = KPM_MEMBER("kfd_process", n_pdds),
	/* the debugger state: v6.6+ (kfd_debug.c) */
	[P_DEBUG_TRAP] = KPM_MEMBER_OPT("kfd_process", debug_trap_enabled),
	[P_DBG_FLAGS] = KPM_MEMBER_OPT("kfd_process", dbg_flags),
	[P_RUNTIME_INFO] = KPM_MEMBER_OPT("kfd_process", runtime_info),
	[RI_RUNTIME_STATE] = KPM_MEMBER_OPT("kfd_runtime_info", runtime_state),
	[KREF_REFCOUNT] = KPM_MEMBER("kref", refcount),
	[RC_REFS] = KPM_MEMBER("refcount_struct", refs),
	[WORK_DATA] = KPM_MEMBER("work_struct", data),
	[D_DEV] = KPM_MEMBER("kfd_process_device", dev),
	[D_QPD] = KPM_MEMBER("kfd_process_device", qpd),
	[D_ALREADY_DEQUEUED] = KPM_MEMBER("kfd_process_device", already_dequeued),
	[D_RUNTIME_INUSE] = KPM_MEMBER("kfd_process_device", runtime_inuse),
	/* the process context: v5.19+ (MES) */
	[D_PROC_CTX_BO] = KPM_MEMBER_OPT("kfd_process_device", proc_ctx_bo),
	[D_PROC_CTX_GPU] = KPM_MEMBER_OPT("kfd_process_device", proc_ctx_gpu_addr),
	[D_PROC_CTX_CPU] = KPM_MEMBER_OPT("kfd_process_device", proc_ctx_cpu_ptr),
	[D_SPI_OVERRIDE] = KPM_MEMBER_OPT("kfd_process_device", spi_dbg_override),
	[D_SPI_LAUNCH] = KPM_MEMBER_OPT("kfd_process_device", spi_dbg_launch_mode),
	[D_WATCH] = KPM_MEMBER_OPT("kfd_process_device", watch_points),
	[D_USER_GPU_ID] = KPM_MEMBER_OPT("kfd_process_device", user_gpu_id),
	[QPD_QUEUES_LIST] = KPM_MEMBER("qcm_process_device", queues_list),
	[QPD_QUEUE_COUNT] = KPM_MEMBER("qcm_process_device", queue_count),
	[Q_LIST] = KPM_MEMBER("queue", list),
	[Q_PROPERTIES] = KPM_MEMBER("queue", properties),
	[QP_TYPE] = KPM_MEMBER("queue_properties", type),
	[QP_QUEUE_ID] = KPM_MEMBER("queue_properties", queue_id),
	[QP_DOORBELL_OFF] = KPM_MEMBER("queue_properties", doorbell_off),
	[QP_IS_ACTIVE] = KPM_MEMBER("queue_properties", is_active),
	[QP_IS_EVICTED] = KPM_MEMBER("queue_properties", is_evicted),
	/* pdd->dev: struct kfd_node since v6.5, struct kfd_dev before */
	[N_ID] = KPM_MEMBER_OPT("kfd_node", id),
	[N_ADEV] = KPM_MEMBER_OPT("kfd_node", adev),
	[N_KFD] = KPM_MEMBER_OPT("kfd_node", kfd),
	[K_ID] = KPM_MEMBER_OPT("kfd_dev", id),
	[K_ADEV] = KPM_MEMBER_OPT("kfd_dev", adev),
	[K_SHARED] = KPM_MEMBER_OPT("kfd_dev", shared_resources),
	[SR_ENABLE_MES] = KPM_MEMBER_OPT("kgd2kfd_shared_resources", enable_mes),
	/* the amdgpu side: only where amdgpu's debug info has these types */
	[A_ENABLE_MES] = KPM_MEMBER_OPT("amdgpu_device", enable_mes),
	[A_MES] = KPM_MEMBER_OPT("amdgpu_device", mes),
	[M_SCHED_VERSION] = KPM_MEMBER_OPT("amdgpu_mes", sched_version),
	[M_KIQ_VERSION] = KPM_MEMBER_OPT("amdgpu_mes", kiq_version),
	[M_RING] = KPM_MEMBER_OPT("amdgpu_mes", ring),
	[R_RING] = KPM_MEMBER_OPT("amdgpu_ring", ring),
	[R_WPTR] = KPM_MEMBER_OPT("amdgpu_ring", wptr),
	[R_RING_SIZE] = KPM_MEMBER_OPT("amdgpu_ring", ring_size),
	[R_BUF_MASK] = KPM_MEMBER_OPT("amdgpu_ring", buf_mask),
	[R_GPU_ADDR] = KPM_MEMBER_OPT("amdgpu_ring", gpu_addr),
	[R_NAME] = KPM_MEMBER_OPT("amdgpu_ring", name),
	[F_OP] = KPM_MEMBER("file", f_op),
	[F_PRIVATE] = KPM_MEMBER("file", private_data),
	/* MES API frames (include/mes_v11_api_def.h) */
	[H_TYPE] = KPM_MEMBER_OPT("union MES_API_HEADER", type),
	[H_OPCODE] = KPM_MEMBER_OPT("union MES_API_HEADER", opcode),
	[H_DWSIZE] = KPM_MEMBER_OPT("union MES_API_HEADER", dwsize),
	[MI_OPCODE] = KPM_MEMBER_OPT("union MESAPI__MISC", opcode),
	[MI_SSD] = KPM_MEMBER_OPT("union MESAPI__MISC", set_shader_debugger),
	[SSD_CTX] = KPM_MEMBER_OPT("SET_SHADER_DEBUGGER", process_context_addr),
	[SSD_FLAGS] = KPM_MEMBER_OPT("SET_SHADER_DEBUGGER", flags),
	[SSD_SPI] = KPM_MEMBER_OPT("SET_SHADER_DEBUGGER", spi_gdbg_per_vmid_cntl),
	[SSD_TRAP] = KPM_MEMBER_OPT("SET_SHADER_DEBUGGER", trap_en),
	[AQ_PROCESS_ID] = KPM_MEMBER_OPT("union MESAPI__ADD_QUEUE", process_id),
	[AQ_CTX] = KPM_MEMBER_OPT("union MESAPI__ADD_QUEUE", process_context_addr),
	[AQ_DOORBELL] = KPM_MEMBER_OPT("union MESAPI__ADD_QUEUE", doorbell_offset),
	[RQ_DOORBELL] = KPM_MEMBER_OPT("union MESAPI__REMOVE_QUEUE", doorbell_offset),
	[LH_NEXT] = KPM_MEMBER("list_head", next),
	[LH_PREV] = KPM_MEMBER("list_head", prev),
	[NR_MEMBERS] = { NULL },
};

/* enum MES_SCH_API_OPCODE and enum MESAPI_MISC_OPCODE names, from debug info */
static const char *const sch_opcodes[] = {
	"SET_HW_RSRC", "SET_SCHEDULING_CONFIG", "ADD_QUEUE", "REMOVE_QUEUE",
	"PERFORM_YIELD", "SET_GANG_PRIORITY_LEVEL", "SUSPEND", "RESUME", "RESET",
	"SET_LOG_BUFFER", "CHANGE_GANG_PRORITY", "QUERY_SCHEDULER_STATUS",
	"PROGRAM_GDS", "SET_DEBUG_VMID", "MISC", "UPDATE_ROOT_PAGE_TABLE",
	"AMD_LOG", "SET_SE_MODE", "SET_GANG_SUBMIT", "SET_HW_RSRC_1",
};
#define NR_SCH	(sizeof(sch_opcodes) / sizeof(sch_opcodes[0]))
static const char *const misc_opcodes[] = {
	"WRITE_REG", "INV_GART", "QUERY_STATUS", "READ_REG", "WAIT_REG_MEM",
	"SET_SHADER_DEBUGGER", "NOTIFY_WORK_ON_UNMAPPED_QUEUE",
	"NOTIFY_TO_UNMAP_PROCESSES", "CHANGE_CONFIG", "LAUNCH_CLEANER_SHADER",
};
#define NR_MISC	(sizeof(misc_opcodes) / sizeof(misc_opcodes[0]))
static const char *const queue_types[] = {
	"COMPUTE", "SDMA", "HIQ", "DIQ", "SDMA_XGMI", "SDMA_BY_ENG_ID",
};
#define NR_QTYPES	(sizeof(queue_types) / sizeof(queue_types[0]))
static const char *const runtime_states[] = {
	"DISABLED", "ENABLED", "ENABLED_BUSY", "ENABLED_ERROR",
};
#define NR_RSTATES	(sizeof(runtime_states) / sizeof(runtime_states[0]))

struct kfd_queue {
	uint64_t addr;
	long type;
	uint64_t queue_id, doorbell_off;
	int is_active, is_evicted;
};

struct kfd_pdd {
	uint64_t addr, dev;
	struct kfd_gpu *gpu;
	int already_dequeued, runtime_inuse;
	int has_ctx;			/* proc_ctx_* members exist */
	uint64_t proc_ctx_bo, proc_ctx_gpu_addr, proc_ctx_cpu_ptr;
	int has_dbg;
	uint32_t spi_dbg_override, spi_dbg_launch_mode, watch_points[4];
	unsigned int nwatch;
	long queue_count;
	struct kfd_queue *q;
	long nq;
	char err[KPM_ERRLEN];
};

enum { PS_HASHED = 1, PS_FILE = 2, PS_RELEASE = 4 };

struct kfd_proc {
	uint64_t addr, mm, lead;
	uint32_t pasid;
	int pid;
	char comm[32];
	long ref;
	uint64_t n_pdds;
	unsigned int found;		/* PS_* */
	int holder_pid;			/* a task holding /dev/kfd open for it */
	int unhashed;			/* kfd_processes.pprev NULL */
	int release_pending;
	int has_dbg;
	int debug_trap_enabled;
	long runtime_state;		/* -1: absent */
	long dbg_flags;			/* -1: absent */
	struct kfd_pdd *pdd;
	long npdd;
	char err[KPM_ERRLEN];
};

struct mes_frame {
	uint64_t dw;			/* ring dword index (wptr space) */
	unsigned int type, opcode, dwsize;
	long misc;			/* -1: not MISC */
	uint64_t ctx;			/* process context the frame names, 0: none */
	int flush;
	uint32_t process_id, doorbell, spi, trap_en;
	int unreadable;
};

struct kfd_gpu {
	uint64_t dev;			/* kfd_node (6.5+) or kfd_dev */
	uint64_t adev, kfd;
	uint64_t gpu_id;
	long kfd_enable_mes;		/* -1: unknown */
	long adev_enable_mes;
	int has_mes;
	uint64_t sched_version, kiq_version;
	uint64_t ring, ring_buf, wptr, gpu_addr;
	uint64_t ring_size, buf_mask;
	char ring_name[32];
	struct mes_frame *f;		/* oldest first */
	long nf, nmissing, nstatus;
	char err[KPM_ERRLEN];
};

struct kfd_ctx {
	struct kpm_target *t;
	struct kpm_member m[NR_MEMBERS + 1];
	long psz, pdds_max, ring_stride, frame_size;
	int dev_is_node;
	uint64_t table, fops;
	int has_flush, has_debugger_api;
	long sch_value[NR_SCH], misc_value[NR_MISC], qtype_value[NR_QTYPES];
	int opnames;			/* enum MES_SCH_API_OPCODE known */
	struct kfd_proc *p;
	long np, cap;
	struct kfd_gpu *g;
	long ng;
	long ntasks, nfiles, fd_unreadable;
	char table_err[KPM_ERRLEN], task_err[KPM_ERRLEN];
	int files_searched;
};

#define M(x, i)	(&(x)->m[i])

static int kfd_applies(struct kpm_target *t)
{
	uint64_t a;

	if (kpm_module_symbol(t, "kfd_processes_table", "amdgpu with KFD (HSA_AMD)", &a))
		return -1;
	if (t->ops->type_size(t, "kfd_process") < 0) {
		kpm_errf(t, "no struct kfd_process in the debug info: load amdgpu's (mod -s amdgpu)");
		return -1;
	}
	return 0;
}

static int kfd_init(struct kfd_ctx *x, struct kpm_target *t)
{
	uint64_t a;
	long sz;

	memset(x, 0, sizeof(*x));
	x->t = t;
	if (kfd_applies(t))
		return -1;
	memcpy(x->m, member_tab, sizeof(member_tab));
	if (kpm_resolve(t, x->m))
		return -1;
	t->ops->symbol(t, "kfd_processes_table", &x->table);
	x->psz = kpm_ptr_size(t);
	x->pdds_max = M(x, P_PDDS)->size / x->psz;
	if (x->pdds_max > MAX_PDDS)
		x->pdds_max = MAX_PDDS;
	x->dev_is_node = kpm_has(M(x, N_ADEV));
	if (t->ops->symbol(t, "kfd_fops", &x->fops))
		x->fops = 0;
	x->has_flush = !t->ops->symbol(t, "amdgpu_mes_flush_shader_debugger", &a);
	x->has_debugger_api = !t->ops->symbol(t, "amdgpu_mes_set_shader_debugger", &a);
	/* amdgpu_mes.ring: one ring (v5.19-v6.9), an array of pipes since */
	sz = t->ops->type_size(t, "amdgpu_ring");
	x->ring_stride = sz > 0 ? sz : 0;
	sz = t->ops->type_size(t, "union MESAPI__MISC");
	x->frame_size = sz > 0 ? sz : 0;
	x->opnames = kpm_enum_table(t, "MES_SCH_API_", sch_opcodes, x->sch_value, NR_SCH) > 0;
	kpm_enum_table(t, "MESAPI_MISC__", misc_opcodes, x->misc_value, NR_MISC);
	kpm_enum_table(t, "KFD_QUEUE_TYPE_", queue_types, x->qtype_value, NR_QTYPES);
	return 0;
}

static void free_ctx(struct kfd_ctx *x)
{
	long i, k;

	for (i = 0; i < x->np; i++) {
		for (k = 0; k < x->p[i].npdd; k++)
			free(x->p[i].pdd[k].q);
		free(x->p[i].pdd);
	}
	free(x->p);
	for (i = 0; i < x->ng; i++)
		free(x->g[i].f);
	free(x->g);
}

static struct kfd_proc *find_proc(struct kfd_ctx *x, uint64_t addr)
{
	long i;

	for (i = 0; i < x->np; i++)
		if (x->p[i].addr == addr)
			return &x->p[i];
	return NULL;
}

/* A process found one more way; a new one is added (bounded). */
static struct kfd_proc *add_proc(struct kfd_ctx *x, uint64_t addr, unsigned int how)
{
	struct kfd_proc *p = find_proc(x, addr);

	if (p) {
		p->found |= how;
		return p;
	}
	if (x->np == MAX_PROCS)
		return NULL;
	if (x->np == x->cap) {
		long cap = x->cap ? 2 * x->cap : 16;
		struct kfd_proc *n = realloc(x->p, cap * sizeof(*n));

		if (!n)
			return NULL;
		x->p = n;
		x->cap = cap;
	}
	p = &x->p[x->np++];
	memset(p, 0, sizeof(*p));
	p->addr = addr;
	p->found = how;
	p->pid = -1;
	p->holder_pid = -1;
	return p;
}

static int table_node(struct kpm_target *t, uint64_t node, void *arg)
{
	struct kfd_ctx *x = arg;

	if (!add_proc(x, node - M(x, P_NODE)->off, PS_HASHED)) {
		kpm_errf(t, "more than %d KFD processes", MAX_PROCS);
		return -1;
	}
	return 0;
}

static void walk_table(struct kfd_ctx *x)
{
	struct kpm_target *t = x->t;
	long b, hsz = kpm_ptr_size(t);

	for (b = 0; b < KFD_TABLE_BUCKETS; b++) {
		t->err[0] = 0;
		if (kpm_hlist_walk(t, x->table + b * hsz, MAX_PROCS, table_node, x) < 0 &&
		    !x->table_err[0])
			snprintf(x->table_err, sizeof(x->table_err), "bucket %ld: %.200s", b, t->err);
	}
}

struct file_walk {
	struct kfd_ctx *x;
	int pid;
};

static int file_cb(struct kpm_target *t, uint64_t task, unsigned int fd, uint64_t file, void *arg)
{
	struct file_walk *w = arg;
	struct kfd_ctx *x = w->x;
	struct kfd_proc *p;
	uint64_t fop, priv;

	(void)task;
	(void)fd;
	if (!kpm_kptr_ok(t, file) || kpm_read_member(t, file, M(x, F_OP), &fop))
		return 0;	/* a file we cannot read is not a KFD file we know of */
	if (fop != x->fops)
		return 0;
	x->nfiles++;
	if (kpm_read_member(t, file, M(x, F_PRIVATE), &priv) || !kpm_kptr_ok(t, priv))
		return 0;
	p = add_proc(x, priv, PS_FILE);
	if (p && p->holder_pid < 0)
		p->holder_pid = w->pid;
	return 0;
}

static int task_cb(struct kpm_target *t, uint64_t task, void *arg)
{
	struct kfd_ctx *x = arg;
	struct file_walk w = { x, -1 };
	char comm[32];
	long unreadable = 0;

	x->ntasks++;
	kpm_task_ident(t, task, &w.pid, comm, sizeof(comm));
	t->err[0] = 0;
	if (kpm_task_files(t, task, MAX_FDS, file_cb, &w, &unreadable) < 0 && !x->task_err[0])
		snprintf(x->task_err, sizeof(x->task_err), "pid %d: %.200s", w.pid, t->err);
	x->fd_unreadable += unreadable;
	return 0;
}

static void walk_files(struct kfd_ctx *x)
{
	struct kpm_target *t = x->t;

	if (!x->fops)
		return;
	x->files_searched = 1;
	t->err[0] = 0;
	if (kpm_task_walk(t, MAX_TASKS, task_cb, x) < 0 && !x->task_err[0])
		snprintf(x->task_err, sizeof(x->task_err), "task list: %.200s", t->err);
}

static struct kfd_gpu *get_gpu(struct kfd_ctx *x, uint64_t dev);

static int queue_cb(struct kpm_target *t, uint64_t node, void *arg)
{
	struct kfd_pdd *d = arg;
	struct kfd_queue *q;
	(void)t;

	if (d->nq == MAX_QUEUES)
		return -1;
	if (!(d->nq & (d->nq - 1)) || !d->q) {
		long cap = d->nq ? 2 * d->nq : 4;
		struct kfd_queue *n = realloc(d->q, cap * sizeof(*n));

		if (!n)
			return -1;
		d->q = n;
	}
	q = &d->q[d->nq++];
	memset(q, 0, sizeof(*q));
	q->addr = node;		/* fixed up below: list is not at offset 0 everywhere */
	return 0;
}

static void read_queue(struct kfd_ctx *x, struct kfd_queue *q)
{
	struct kpm_target *t = x->t;
	uint64_t pb, v;

	q->addr -= M(x, Q_LIST)->off;
	pb = q->addr + M(x, Q_PROPERTIES)->off;
	q->type = -1;
	if (!kpm_read_member(t, pb, M(x, QP_TYPE), &v))
		q->type = (long)(int32_t)(uint32_t)v;
	kpm_read_member(t, pb, M(x, QP_QUEUE_ID), &q->queue_id);
	kpm_read_member(t, pb, M(x, QP_DOORBELL_OFF), &q->doorbell_off);
	if (!kpm_read_member(t, pb, M(x, QP_IS_ACTIVE), &v))
		q->is_active = !!v;
	if (!kpm_read_member(t, pb, M(x, QP_IS_EVICTED), &v))
		q->is_evicted = !!v;
}

static void read_pdd(struct kfd_ctx *x, struct kfd_pdd *d)
{
	struct kpm_target *t = x->t;
	uint64_t v, qpd = d->addr + M(x, D_QPD)->off;
	long i;

	if (kpm_read_member(t, d->addr, M(x, D_DEV), &d->dev)) {
		snprintf(d->err, sizeof(d->err), "%s", t->err);
		return;
	}
	if (!kpm_read_member(t, d->addr, M(x, D_ALREADY_DEQUEUED), &v))
		d->already_dequeued = !!v;
	if (!kpm_read_member(t, d->addr, M(x, D_RUNTIME_INUSE), &v))
		d->runtime_inuse = !!v;
	d->has_ctx = kpm_has(M(x, D_PROC_CTX_GPU));
	if (d->has_ctx &&
	    (kpm_read_member(t, d->addr, M(x, D_PROC_CTX_BO), &d->proc_ctx_bo) ||
	     kpm_read_member(t, d->addr, M(x, D_PROC_CTX_GPU), &d->proc_ctx_gpu_addr) ||
	     kpm_read_member(t, d->addr, M(x, D_PROC_CTX_CPU), &d->proc_ctx_cpu_ptr)))
		snprintf(d->err, sizeof(d->err), "%s", t->err);
	d->has_dbg = kpm_has(M(x, D_SPI_OVERRIDE));
	if (d->has_dbg) {
		if (!kpm_read_member(t, d->addr, M(x, D_SPI_OVERRIDE), &v))
			d->spi_dbg_override = (uint32_t)v;
		if (!kpm_read_member(t, d->addr, M(x, D_SPI_LAUNCH), &v))
			d->spi_dbg_launch_mode = (uint32_t)v;
		if (kpm_has(M(x, D_WATCH))) {
			d->nwatch = M(x, D_WATCH)->size / 4;
			if (d->nwatch > 4)
				d->nwatch = 4;
			for (i = 0; i < (long)d->nwatch; i++)
				if (!kpm_read_uint(t, d->addr + M(x, D_WATCH)->off + 4 * i, 4, &v,
						   "kfd_process_device.watch_points"))
					d->watch_points[i] = (uint32_t)v;
		}
	}
	d->queue_count = -1;
	if (!kpm_read_member(t, qpd, M(x, QPD_QUEUE_COUNT), &v))
		d->queue_count = (long)(uint32_t)v;
	t->err[0] = 0;
	if (kpm_list_walk(t, qpd + M(x, QPD_QUEUES_LIST)->off, M(x, LH_NEXT)->off,
			  M(x, LH_PREV)->off, MAX_QUEUES, queue_cb, d) < 0 && !d->err[0])
		snprintf(d->err, sizeof(d->err), "queues_list: %.200s", t->err[0] ? t->err : "out of memory");
	for (i = 0; i < d->nq; i++)
		read_queue(x, &d->q[i]);
	if (kpm_kptr_ok(t, d->dev))
		d->gpu = get_gpu(x, d->dev);
	else if (!d->err[0])
		snprintf(d->err, sizeof(d->err), "dev %#" PRIx64 " is not a kernel address", d->dev);
}

/*
 * kfd_process.pdds[0..n): 0; -1 with t->err when the array cannot be read,
 * -2 when n is more than it holds.
 */
static int read_pdd_ptrs(struct kfd_ctx *x, uint64_t proc, uint64_t n, uint64_t *ptrs)
{
	unsigned char raw[MAX_PDDS * 8];
	long i;

	if (n > (uint64_t)x->pdds_max) {
		kpm_errf(x->t, "n_pdds %" PRIu64 " is more than pdds[] holds (%ld)", n, x->pdds_max);
		return -2;
	}
	if (n && kpm_read(x->t, proc + M(x, P_PDDS)->off, raw, n * x->psz, "kfd_process.pdds"))
		return -1;
	for (i = 0; i < (long)n; i++)
		ptrs[i] = kpm_get(raw, i * x->psz, x->psz);
	return 0;
}

static void read_proc(struct kfd_ctx *x, struct kfd_proc *p)
{
	struct kpm_target *t = x->t;
	uint64_t v, pprev, arr[MAX_PDDS];
	long i;

	p->runtime_state = -1;
	p->dbg_flags = -1;
	p->ref = -1;
	if (kpm_read_member(t, p->addr, M(x, P_PASID), &v)) {
		snprintf(p->err, sizeof(p->err), "%s", t->err);
		return;
	}
	p->pasid = (uint32_t)v;
	if (kpm_read_member(t, p->addr, M(x, P_MM), &p->mm) ||
	    kpm_read_member(t, p->addr, M(x, P_LEAD), &p->lead) ||
	    kpm_read_member(t, p->addr, M(x, P_N_PDDS), &p->n_pdds)) {
		snprintf(p->err, sizeof(p->err), "%s", t->err);
		return;
	}
	/* hlist_node.pprev: hash_del() leaves it NULL */
	if (!kpm_read_ptr(t, p->addr + M(x, P_NODE)->off + x->psz, &pprev, "kfd_process.kfd_processes.pprev"))
		p->unhashed = !pprev;
	/* kref.refcount.refs: an atomic_t, whose int is all of it */
	if (!kpm_read_uint(t, p->addr + M(x, P_REF)->off + M(x, KREF_REFCOUNT)->off + M(x, RC_REFS)->off,
			   4, &v, "kfd_process.ref"))
		p->ref = (long)(int32_t)(uint32_t)v;
	if (!kpm_read_member(t, p->addr + M(x, P_RELEASE_WORK)->off, M(x, WORK_DATA), &v))
		p->release_pending = !!(v & WORK_PENDING);
	if (p->release_pending)
		p->found |= PS_RELEASE;
	if (kpm_has(M(x, P_DEBUG_TRAP))) {
		p->has_dbg = 1;
		if (!kpm_read_member(t, p->addr, M(x, P_DEBUG_TRAP), &v))
			p->debug_trap_enabled = !!v;
		if (!kpm_read_member(t, p->addr, M(x, P_DBG_FLAGS), &v))
			p->dbg_flags = (long)(uint32_t)v;
		if (kpm_has(M(x, P_RUNTIME_INFO)) && kpm_has(M(x, RI_RUNTIME_STATE)) &&
		    !kpm_read_member(t, p->addr + M(x, P_RUNTIME_INFO)->off, M(x, RI_RUNTIME_STATE), &v))
			p->runtime_state = (long)(uint32_t)v;
	}
	if (kpm_kptr_ok(t, p->lead))
		kpm_task_ident(t, p->lead, &p->pid, p->comm, sizeof(p->comm));
	if (read_pdd_ptrs(x, p->addr, p->n_pdds, arr)) {
		snprintf(p->err, sizeof(p->err), "%s", t->err);
		return;
	}
	if (!p->n_pdds)
		return;
	p->pdd = calloc(p->n_pdds, sizeof(*p->pdd));
	if (!p->pdd)
		return;
	for (i = 0; i < (long)p->n_pdds; i++) {
		if (!kpm_kptr_ok(t, arr[i])) {
			snprintf(p->err, sizeof(p->err), "pdds[%ld] %#" PRIx64 " is not a kernel address",
				 i, arr[i]);
			continue;
		}
		p->pdd[p->npdd].addr = arr[i];
		read_pdd(x, &p->pdd[p->npdd]);
		p->npdd++;
	}
}

static const char *opcode_name(const struct kfd_ctx *x, long op)
{
	return kpm_enum_name(x->sch_value, sch_opcodes, NR_SCH, op);
}

static const char *misc_name(const struct kfd_ctx *x, long op)
{
	return kpm_enum_name(x->misc_value, misc_opcodes, NR_MISC, op);
}

/* One API frame of the MES scheduler ring. */
static void decode_frame(struct kfd_ctx *x, const unsigned char *b, struct mes_frame *f)
{
	long misc = x->sch_value[14], add = x->sch_value[2], rem = x->sch_value[3];

	f->type = kpm_field(b, M(x, H_TYPE));
	f->opcode = kpm_field(b, M(x, H_OPCODE));
	f->dwsize = kpm_field(b, M(x, H_DWSIZE));
	f->misc = -1;
	if ((long)f->opcode == misc && kpm_has(M(x, MI_OPCODE))) {
		f->misc = (long)(int32_t)(uint32_t)kpm_field(b, M(x, MI_OPCODE));
		if (f->misc == x->misc_value[5] && kpm_has(M(x, MI_SSD)) && kpm_has(M(x, SSD_CTX))) {
			const unsigned char *s = b + M(x, MI_SSD)->off;

			f->ctx = kpm_field(s, M(x, SSD_CTX));
			f->flush = !!(kpm_field(s, M(x, SSD_FLAGS)) & MES_PROCESS_CTX_FLUSH);
			f->spi = (uint32_t)kpm_field(s, M(x, SSD_SPI));
			f->trap_en = (uint32_t)kpm_field(s, M(x, SSD_TRAP));
		}
	} else if ((long)f->opcode == add && kpm_has(M(x, AQ_CTX))) {
		f->ctx = kpm_field(b, M(x, AQ_CTX));
		f->process_id = (uint32_t)kpm_field(b, M(x, AQ_PROCESS_ID));
		f->doorbell = (uint32_t)kpm_field(b, M(x, AQ_DOORBELL));
	} else if ((long)f->opcode == rem && kpm_has(M(x, RQ_DOORBELL))) {
		f->doorbell = (uint32_t)kpm_field(b, M(x, RQ_DOORBELL));
	}
}

static int is_status_frame(const struct kfd_ctx *x, const struct mes_frame *f)
{
	return (long)f->opcode == x->sch_value[11];
}

/*
 * The ring's frames, newest first from wptr back, each frame_size bytes,
 * until an empty frame or a full turn of the ring; stored oldest first.
 */
static void read_ring(struct kfd_ctx *x, struct kfd_gpu *g)
{
	struct kpm_target *t = x->t;
	long fdw = x->frame_size / 4, nframes, i, n = 0;
	unsigned char *b;
	struct mes_frame *f;

	if (!x->frame_size || !kpm_has(M(x, H_OPCODE)) || !x->opnames) {
		snprintf(g->err, sizeof(g->err),
			 "MES API layouts (union MESAPI__MISC, enum MES_SCH_API_OPCODE) not in the debug info");
		return;
	}
	if (!g->ring_buf || !kpm_kptr_ok(t, g->ring_buf)) {
		snprintf(g->err, sizeof(g->err), "MES ring buffer %#" PRIx64 " is not a kernel address",
			 g->ring_buf);
		return;
	}
	if (!g->ring_size || g->ring_size > (16 << 20) || g->buf_mask + 1 != g->ring_size / 4) {
		snprintf(g->err, sizeof(g->err), "MES ring: ring_size %" PRIu64 " and buf_mask %#" PRIx64
			 " do not agree", g->ring_size, g->buf_mask);
		return;
	}
	nframes = g->ring_size / x->frame_size;
	if (nframes > MAX_FRAMES)
		nframes = MAX_FRAMES;
	if ((long)(g->wptr / fdw) < nframes)
		nframes = g->wptr / fdw;
	f = calloc(nframes ? nframes : 1, sizeof(*f));
	b = malloc(x->frame_size);
	if (!f || !b) {
		free(f);
		free(b);
		return;
	}
	for (i = 1; i <= nframes; i++) {
		uint64_t dw = g->wptr - i * fdw;
		uint64_t at = g->ring_buf + (dw & g->buf_mask) * 4;
		struct mes_frame *e = &f[n];

		memset(e, 0, sizeof(*e));
		e->dw = dw;
		if (kpm_read(t, at, b, x->frame_size, "MES ring frame")) {
			e->unreadable = 1;
			g->nmissing++;
			n++;
			continue;
		}
		if (!kpm_get(b, 0, 4))
			break;		/* never written: the ring has not wrapped */
		decode_frame(x, b, e);
		if (is_status_frame(x, e))
			g->nstatus++;
		n++;
	}
	free(b);
	/* oldest first */
	for (i = 0; i < n / 2; i++) {
		struct mes_frame tmp = f[i];

		f[i] = f[n - 1 - i];
		f[n - 1 - i] = tmp;
	}
	g->f = f;
	g->nf = n;
}

static struct kfd_gpu *get_gpu(struct kfd_ctx *x, uint64_t dev)
{
	struct kpm_target *t = x->t;
	struct kfd_gpu *g, *n;
	uint64_t v, mes, ring;
	long i;

	for (i = 0; i < x->ng; i++)
		if (x->g[i].dev == dev)
			return &x->g[i];
	/*
	 * Allocated once: pdds keep pointers to their GPU, which a realloc
	 * would leave dangling (found by fuzz/, a garbage pdd->dev adding a
	 * GPU after others pointed into the array).
	 */
	if (!x->g) {
		n = calloc(MAX_GPUS, sizeof(*n));
		if (!n)
			return NULL;
		x->g = n;
	}
	if (x->ng == MAX_GPUS)
		return NULL;
	g = &x->g[x->ng++];
	memset(g, 0, sizeof(*g));
	g->dev = dev;
	g->kfd_enable_mes = -1;
	g->adev_enable_mes = -1;
	if (x->dev_is_node) {
		if (kpm_read_member(t, dev, M(x, N_ID), &g->gpu_id) ||
		    kpm_read_member(t, dev, M(x, N_ADEV), &g->adev) ||
		    kpm_read_member(t, dev, M(x, N_KFD), &g->kfd)) {
			snprintf(g->err, sizeof(g->err), "%s", t->err);
			return g;
		}
	} else {
		g->kfd = dev;
		if (!kpm_has(M(x, K_ADEV)) ||
		    kpm_read_member(t, dev, M(x, K_ID), &g->gpu_id) ||
		    kpm_read_member(t, dev, M(x, K_ADEV), &g->adev)) {
			snprintf(g->err, sizeof(g->err), "%s", kpm_has(M(x, K_ADEV)) ? t->err :
				 "struct kfd_dev has no adev: unknown layout");
			return g;
		}
	}
	g->gpu_id = (uint32_t)g->gpu_id;
	if (kpm_kptr_ok(t, g->kfd) && kpm_has(M(x, K_SHARED)) && kpm_has(M(x, SR_ENABLE_MES)) &&
	    !kpm_read_member(t, g->kfd + M(x, K_SHARED)->off, M(x, SR_ENABLE_MES), &v))
		g->kfd_enable_mes = !!v;
	if (!kpm_kptr_ok(t, g->adev)) {
		snprintf(g->err, sizeof(g->err), "adev %#" PRIx64 " is not a kernel address", g->adev);
		return g;
	}
	if (!kpm_has(M(x, A_MES)) || !kpm_has(M(x, M_RING)) || !kpm_has(M(x, R_RING))) {
		snprintf(g->err, sizeof(g->err),
			 "no struct amdgpu_device/amdgpu_mes/amdgpu_ring in the debug info");
		return g;
	}
	if (!kpm_read_member(t, g->adev, M(x, A_ENABLE_MES), &v))
		g->adev_enable_mes = !!v;
	mes = g->adev + M(x, A_MES)->off;
	if (kpm_read_member(t, mes, M(x, M_SCHED_VERSION), &g->sched_version) ||
	    kpm_read_member(t, mes, M(x, M_KIQ_VERSION), &g->kiq_version)) {
		snprintf(g->err, sizeof(g->err), "%s", t->err);
		return g;
	}
	g->has_mes = 1;
	/* the scheduler ring: mes.ring, or mes.ring[AMDGPU_MES_SCHED_PIPE] (0) */
	ring = g->ring = mes + M(x, M_RING)->off;
	if (kpm_read_member(t, ring, M(x, R_RING), &g->ring_buf) ||
	    kpm_read_member(t, ring, M(x, R_WPTR), &g->wptr) ||
	    kpm_read_member(t, ring, M(x, R_RING_SIZE), &g->ring_size) ||
	    kpm_read_member(t, ring, M(x, R_BUF_MASK), &g->buf_mask) ||
	    kpm_read_member(t, ring, M(x, R_GPU_ADDR), &g->gpu_addr)) {
		snprintf(g->err, sizeof(g->err), "%s", t->err);
		return g;
	}
	if (kpm_has(M(x, R_NAME))) {
		long max = M(x, R_NAME)->size < (long)sizeof(g->ring_name) ?
			M(x, R_NAME)->size : (long)sizeof(g->ring_name);

		if (kpm_read_string(t, ring + M(x, R_NAME)->off, g->ring_name, max - 1,
				    "amdgpu_ring.name") < 0)
			g->ring_name[0] = 0;
	}
	read_ring(x, g);
	return g;
}

static int decode_all(struct kfd_ctx *x, struct kpm_target *t)
{
	long i;

	if (kfd_init(x, t))
		return -1;
	walk_table(x);
	walk_files(x);
	for (i = 0; i < x->np; i++)
		read_proc(x, &x->p[i]);
	return 0;
}

static int proc_live(const struct kfd_proc *p)
{
	return !p->unhashed && !p->release_pending && p->mm;
}

static const char *proc_state(const struct kfd_proc *p)
{
	if (p->release_pending)
		return "release-queued";
	if (p->unhashed || !p->mm)
		return "unhashed";
	return "hashed";
}

static int pdd_has_dbg(const struct kfd_proc *p, const struct kfd_pdd *d)
{
	unsigned int i;

	if (p->debug_trap_enabled || d->spi_dbg_override || d->spi_dbg_launch_mode)
		return 1;
	for (i = 0; i < d->nwatch; i++)
		if (d->watch_points[i])
			return 1;
	return 0;
}

/*
 * What MES last heard about a context address on a device: the newest
 * SET_SHADER_DEBUGGER frame naming it (flush or not), and the newest frame
 * naming it at all.
 */
struct ctx_state {
	uint64_t ctx;
	long last_ssd, last_flush, last_any;
};

static long ring_contexts(const struct kfd_gpu *g, struct ctx_state **out)
{
	struct ctx_state *c = NULL;
	long n = 0, i, k;

	for (i = 0; i < g->nf; i++) {
		const struct mes_frame *f = &g->f[i];

		if (f->unreadable || !f->ctx)
			continue;
		for (k = 0; k < n && c[k].ctx != f->ctx; k++)
			;
		if (k == n) {
			struct ctx_state *nc = realloc(c, (n + 1) * sizeof(*nc));

			if (!nc)
				break;
			c = nc;
			c[n].ctx = f->ctx;
			c[n].last_ssd = c[n].last_flush = -1;
			n++;
		}
		c[k].last_any = i;
		if (f->misc >= 0) {
			c[k].last_ssd = i;
			if (f->flush)
				c[k].last_flush = i;
		}
	}
	*out = c;
	return n;
}

/* Diagnosis lines, each first line a finding; returns how many. */
static void proc_name(const struct kfd_proc *p, char *buf, size_t len)
{
	snprintf(buf, len, "pasid %#x (pid %d \"%s\", %s)", p->pasid, p->pid, p->comm, proc_state(p));
}

static void proc_data(struct kpm_json *j, const struct kfd_proc *p, const struct kfd_pdd *d)
{
	kpm_json_begin(j, NULL, '{');
	kpm_json_hex(j, "kfd_process", p->addr);
	kpm_json_hex(j, "pasid", p->pasid);
	kpm_json_i64(j, "pid", p->pid);
	kpm_json_str(j, "comm", p->comm);
	kpm_json_str(j, "state", proc_state(p));
	if (d)
		kpm_json_hex(j, "pdd", d->addr);
	kpm_json_end(j, '}');
}

/* Triage "data" of a finding: what it is about, by address and id. */
static void diag_data(struct kpm_diag *dg, const char *kind, const struct kfd_gpu *g, uint64_t ctx,
		      const struct kfd_proc *p1, const struct kfd_pdd *d1,
		      const struct kfd_proc *p2, const struct kfd_pdd *d2)
{
	struct kpm_json *j = kpm_diag_data(dg);

	if (!j)
		return;
	kpm_json_str(j, "kind", kind);
	kpm_json_hex(j, "gpu_id", g ? g->gpu_id : 0);
	kpm_json_hex(j, "proc_ctx_gpu_addr", ctx);
	kpm_json_begin(j, "processes", '[');
	if (p1)
		proc_data(j, p1, d1);
	if (p2)
		proc_data(j, p2, d2);
	kpm_json_end(j, ']');
}

static long diagnose(struct kfd_ctx *x, struct kpm_diag *dg)
{
	long n = 0, i, k, a, b, gi;
	char n1[128], n2[128];

	/* 1. two pdds sharing a process context address on one device */
	for (i = 0; i < x->np; i++)
		for (a = 0; a < x->p[i].npdd; a++) {
			struct kfd_pdd *d = &x->p[i].pdd[a];

			if (!d->proc_ctx_gpu_addr)
				continue;
			for (k = i; k < x->np; k++)
				for (b = (k == i ? a + 1 : 0); b < x->p[k].npdd; b++) {
					struct kfd_pdd *e = &x->p[k].pdd[b];

					if (e->proc_ctx_gpu_addr != d->proc_ctx_gpu_addr || e->gpu != d->gpu)
						continue;
					/* the one that is ending first */
					int sw = proc_live(&x->p[i]) && !proc_live(&x->p[k]);
					struct kfd_pdd *d1 = sw ? e : d, *d2 = sw ? d : e;

					proc_name(&x->p[sw ? k : i], n1, sizeof(n1));
					proc_name(&x->p[sw ? i : k], n2, sizeof(n2));
					kpm_diag(dg, 1, "gpu_id %#" PRIx64 ": %s and %s share proc_ctx_gpu_addr %#" PRIx64,
					     d->gpu ? d->gpu->gpu_id : 0, n1, n2, d->proc_ctx_gpu_addr);
					kpm_diag(dg, 0, "pdd %016" PRIx64 " (already_dequeued %d) and pdd %016" PRIx64
					     " (already_dequeued %d): MES keys its process state by this address;"
					     " what it holds for one is applied to the other",
					     d1->addr, d1->already_dequeued, d2->addr, d2->already_dequeued);
					diag_data(dg, "shared_proc_ctx", d->gpu, d->proc_ctx_gpu_addr,
						  &x->p[sw ? k : i], d1, &x->p[sw ? i : k], d2);
					n++;
				}
		}
	/* 2. a process ending with debugger state, on a kernel that does not flush */
	if (x->has_debugger_api && !x->has_flush)
		for (i = 0; i < x->np; i++) {
			struct kfd_proc *p = &x->p[i];

			if (proc_live(p))
				continue;
			for (a = 0; a < p->npdd; a++) {
				struct kfd_pdd *d = &p->pdd[a];

				if (!d->proc_ctx_gpu_addr || !pdd_has_dbg(p, d))
					continue;
				proc_name(p, n1, sizeof(n1));
				kpm_diag(dg, 1, "%s ends with shader debugger state on gpu_id %#" PRIx64
				     " and this kernel has no amdgpu_mes_flush_shader_debugger", n1,
				     d->gpu ? d->gpu->gpu_id : 0);
				kpm_diag(dg, 0, "MES keeps the state of process context %#" PRIx64
				     " after the process is gone (bd33bb1409b4 flushes it on dequeue)",
				     d->proc_ctx_gpu_addr);
				diag_data(dg, "debugger_state_not_flushed", d->gpu, d->proc_ctx_gpu_addr,
					  p, d, NULL, NULL);
				n++;
			}
		}
	/* 3. MES holds debugger state for a context no live process owns */
	for (gi = 0; gi < x->ng; gi++) {
		struct kfd_gpu *g = &x->g[gi];
		struct ctx_state *c;
		long nc = ring_contexts(g, &c);

		for (k = 0; k < nc; k++) {
			struct kfd_proc *owner = NULL, *dying = NULL;
			const struct mes_frame *f;

			if (c[k].last_ssd < 0 || c[k].last_flush == c[k].last_ssd)
				continue;
			for (i = 0; i < x->np; i++)
				for (a = 0; a < x->p[i].npdd; a++)
					if (x->p[i].pdd[a].gpu == g &&
					    x->p[i].pdd[a].proc_ctx_gpu_addr == c[k].ctx) {
						if (proc_live(&x->p[i]))
							owner = &x->p[i];
						else
							dying = &x->p[i];
					}
			if (owner)
				continue;
			f = &g->f[c[k].last_ssd];
			kpm_diag(dg, 1, "gpu_id %#" PRIx64 ": MES ring dw %" PRIu64
			     ": SET_SHADER_DEBUGGER for process context %#" PRIx64
			     " was never flushed, and no live process owns that context",
			     g->gpu_id, f->dw, c[k].ctx);
			if (dying) {
				proc_name(dying, n1, sizeof(n1));
				kpm_diag(dg, 0, "it belongs to %s", n1);
			} else {
				kpm_diag(dg, 0, "no KFD process in the dump has it: the process that did is gone");
			}
			diag_data(dg, "mes_context_not_flushed", g, c[k].ctx, dying, NULL, NULL, NULL);
			if (kpm_diag_data(dg))
				kpm_json_u64(kpm_diag_data(dg), "ring_dw", f->dw);
			n++;
		}
		free(c);
	}
	return n;
}

static void flush_line(const struct kfd_ctx *x, FILE *fp)
{
	if (!x->has_debugger_api && !x->has_flush)
		fprintf(fp, "  this kernel has no MES shader debugger API (no SET_SHADER_DEBUGGER): "
			"the flush does not apply\n");
	else if (x->has_flush)
		fprintf(fp, "  this kernel flushes MES process contexts on dequeue "
			"(amdgpu_mes_flush_shader_debugger)\n");
	else
		fprintf(fp, "  this kernel does NOT flush MES process contexts on dequeue "
			"(no amdgpu_mes_flush_shader_debugger)\n");
}

static void frame_text(const struct kfd_ctx *x, const struct mes_frame *f, FILE *fp)
{
	const char *op = opcode_name(x, f->opcode), *mi;
	char line[256], num[32];
	size_t n = 0;

#define ADD(...) (n += snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, __VA_ARGS__))
	if (f->unreadable) {
		fprintf(fp, "    %8" PRIu64 "  (not in the dump)\n", f->dw);
		return;
	}
	ADD("    %8" PRIu64 "  ", f->dw);
	snprintf(num, sizeof(num), "%u", f->opcode);
	ADD("%-22s  ", op ? op : num);
	mi = f->misc >= 0 ? misc_name(x, f->misc) : NULL;
	snprintf(num, sizeof(num), "%ld", f->misc);
	ADD("%-19s  ", f->misc < 0 ? "" : mi ? mi : num);
	if (f->ctx)
		ADD("%16" PRIx64, f->ctx);
	else
		ADD("%16s", "");
	ADD("  %-5s", f->misc >= 0 && f->ctx ? (f->flush ? "yes" : "no") : "");
	if (f->process_id)
		ADD("  %#10x", f->process_id);
	else
		ADD("  %10s", "");
	if (f->doorbell || (long)f->opcode == x->sch_value[2] || (long)f->opcode == x->sch_value[3])
		ADD("  %#8x", f->doorbell);
#undef ADD
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = 0;
	fprintf(fp, "%s\n", line);
}

static void devices_text(const struct kfd_ctx *x, FILE *fp, int all)
{
	long i, k, shown;

	fprintf(fp, "KFD DEVICES\n");
	if (!x->ng) {
		fprintf(fp, "  (no process has a device)\n");
		flush_line(x, fp);
		return;
	}
	fprintf(fp, "  %-16s  %-8s  %-16s  %-10s  %-11s  %-11s  %s\n", x->dev_is_node ? "KFD_NODE" : "KFD_DEV",
		"GPU_ID", "AMDGPU_DEVICE", "ENABLE_MES", "MES_SCHED", "MES_KIQ", "MES_API");
	for (i = 0; i < x->ng; i++) {
		const struct kfd_gpu *g = &x->g[i];

		fprintf(fp, "  %016" PRIx64 "  %#-8" PRIx64 "  %016" PRIx64 "  %-10s  ", g->dev, g->gpu_id,
			g->adev, g->kfd_enable_mes < 0 ? "?" : g->kfd_enable_mes ? "yes" : "no");
		if (g->has_mes)
			/* AMDGPU_MES_API_VERSION_MASK 0x00fff000 (amdgpu_mes.h, v6.2+) */
			fprintf(fp, "%#-11" PRIx64 "  %#-11" PRIx64 "  %#" PRIx64 "\n", g->sched_version,
				g->kiq_version, (g->sched_version & 0x00fff000) >> 12);
		else
			fprintf(fp, "%-11s  %-11s  %s\n", "?", "?", "?");
		if (g->err[0])
			fprintf(fp, "    %s\n", g->err);
	}
	flush_line(x, fp);
	for (i = 0; i < x->ng; i++) {
		const struct kfd_gpu *g = &x->g[i];
		long napi = 0;

		if (!g->f && !g->nmissing)
			continue;
		for (k = 0; k < g->nf; k++)
			if (!g->f[k].unreadable && !is_status_frame(x, &g->f[k]))
				napi++;
		fprintf(fp, "\n  MES RING %s of gpu_id %#" PRIx64 ": amdgpu_ring %016" PRIx64 ", ring %016" PRIx64
			", %" PRIu64 " bytes, wptr %" PRIu64 ", gpu_addr %#" PRIx64 "\n",
			g->ring_name[0] ? g->ring_name : "?", g->gpu_id, g->ring, g->ring_buf,
			g->ring_size, g->wptr, g->gpu_addr);
		fprintf(fp, "    %ld API frame%s, %ld status frame%s, %ld frame%s not in the dump%s\n",
			napi, napi == 1 ? "" : "s", g->nstatus, g->nstatus == 1 ? "" : "s",
			g->nmissing, g->nmissing == 1 ? "" : "s",
			!all && napi > MAX_SHOWN ? "; the newest 16 API frames follow (-a: all)" : "");
		fprintf(fp, "    %8s  %-22s  %-19s  %16s  %-5s  %10s  %s\n", "DW", "OPCODE", "MISC",
			"PROCESS_CONTEXT", "FLUSH", "PROCESS_ID", "DOORBELL");
		shown = 0;
		for (k = g->nf - 1; k >= 0; k--) {
			if (g->f[k].unreadable || is_status_frame(x, &g->f[k]))
				continue;
			if (!all && ++shown > MAX_SHOWN)
				break;
		}
		for (k++; k < g->nf; k++) {
			if (k < 0)
				continue;
			if (!all && (g->f[k].unreadable || is_status_frame(x, &g->f[k])))
				continue;
			frame_text(x, &g->f[k], fp);
		}
	}
}

static void ctx_hex(struct kfd_ctx *x, FILE *fp, const struct kfd_pdd *d)
{
	unsigned char b[CTX_BYTES];

	if (!d->proc_ctx_cpu_ptr)
		return;
	if (!kpm_kptr_ok(x->t, d->proc_ctx_cpu_ptr) ||
	    kpm_read(x->t, d->proc_ctx_cpu_ptr, b, sizeof(b), "process context")) {
		fprintf(fp, "        process context %016" PRIx64 ": %s\n", d->proc_ctx_cpu_ptr,
			kpm_kptr_ok(x->t, d->proc_ctx_cpu_ptr) ? x->t->err : "not a kernel address");
		return;
	}
	fprintf(fp, "        process context at %016" PRIx64 " (first %d bytes):\n",
		d->proc_ctx_cpu_ptr, CTX_BYTES);
	kpm_hex_rows(fp, "          ", b, sizeof(b));
}

static void procs_text(struct kfd_ctx *x, FILE *fp, int hex)
{
	long i, a, q;
	long nh = 0, nr = 0;

	for (i = 0; i < x->np; i++) {
		nh += !!(x->p[i].found & PS_HASHED);
		nr += x->p[i].release_pending;
	}
	fprintf(fp, "KFD PROCESSES (kfd_processes_table: %ld hashed; ", nh);
	if (x->files_searched)
		fprintf(fp, "open /dev/kfd files: %ld in %ld tasks; ", x->nfiles, x->ntasks);
	else
		fprintf(fp, "open files not searched: no symbol kfd_fops; ");
	fprintf(fp, "release queued: %ld)\n", nr);
	if (x->table_err[0])
		fprintf(fp, "  kfd_processes_table: %s\n", x->table_err);
	if (x->task_err[0])
		fprintf(fp, "  open files: %s\n", x->task_err);
	if (x->fd_unreadable)
		fprintf(fp, "  open files: %ld fd slots not in the dump\n", x->fd_unreadable);
	if (!x->np) {
		fprintf(fp, "  (none)\n");
		return;
	}
	fprintf(fp, "  %-16s  %8s  %7s  %-16s  %-16s  %3s  %-14s  %4s  %s\n", "KFD_PROCESS", "PASID",
		"PID", "COMM", "MM", "REF", "STATE", "PDDS", "DEBUG");
	for (i = 0; i < x->np; i++) {
		struct kfd_proc *p = &x->p[i];

		if (p->err[0] && !p->pasid && !p->lead) {
			fprintf(fp, "  %016" PRIx64 "  %s\n", p->addr, p->err);
			continue;
		}
		fprintf(fp, "  %016" PRIx64 "  %#8x  %7d  %-16s  %016" PRIx64 "  %3ld  %-14s  %4" PRIu64 "  ",
			p->addr, p->pasid, p->pid, p->comm, p->mm, p->ref, proc_state(p), p->n_pdds);
		if (!p->has_dbg) {
			fprintf(fp, "-");
		} else {
			const char *rs = p->runtime_state >= 0 && p->runtime_state < (long)NR_RSTATES ?
				runtime_states[p->runtime_state] : NULL;

			fprintf(fp, "trap %s, runtime ", p->debug_trap_enabled ? "on" : "off");
			if (rs)
				fprintf(fp, "%s", rs);
			else
				fprintf(fp, "%ld", p->runtime_state);
			fprintf(fp, ", dbg_flags %#lx", p->dbg_flags < 0 ? 0 : p->dbg_flags);
		}
		fputc('\n', fp);
		if (!(p->found & PS_HASHED) && p->holder_pid >= 0)
			fprintf(fp, "    not in kfd_processes_table; held by an open /dev/kfd of pid %d\n",
				p->holder_pid);
		if (p->err[0])
			fprintf(fp, "    %s\n", p->err);
		if (!p->npdd)
			continue;
		fprintf(fp, "    %-16s  %-8s  %-8s  %-5s  %6s  %-17s  %-16s  %-16s", "PDD", "GPU_ID",
			"DEQUEUED", "INUSE", "QUEUES", "PROC_CTX_GPU_ADDR", "PROC_CTX_BO", "PROC_CTX_CPU_PTR");
		if (p->pdd[0].has_dbg)
			fprintf(fp, "  %-16s  %-11s  %s", "SPI_DBG_OVERRIDE", "LAUNCH_MODE", "WATCH_POINTS");
		fputc('\n', fp);
		for (a = 0; a < p->npdd; a++) {
			struct kfd_pdd *d = &p->pdd[a];
			unsigned int w;

			fprintf(fp, "    %016" PRIx64 "  %#-8" PRIx64 "  %-8s  %-5s  %6ld  %17" PRIx64
				"  %016" PRIx64 "  %016" PRIx64, d->addr, d->gpu ? d->gpu->gpu_id : 0,
				d->already_dequeued ? "yes" : "no", d->runtime_inuse ? "yes" : "no",
				d->queue_count, d->proc_ctx_gpu_addr, d->proc_ctx_bo, d->proc_ctx_cpu_ptr);
			if (d->has_dbg) {
				fprintf(fp, "  %#-16x  %#-11x ", d->spi_dbg_override, d->spi_dbg_launch_mode);
				for (w = 0; w < d->nwatch; w++)
					fprintf(fp, " %#x", d->watch_points[w]);
			}
			fputc('\n', fp);
			if (d->err[0])
				fprintf(fp, "      %s\n", d->err);
			if (hex)
				ctx_hex(x, fp, d);
			if (!d->nq)
				continue;
			fprintf(fp, "      %-16s  %-14s  %8s  %12s  %-6s  %s\n", "QUEUE", "TYPE", "QUEUE_ID",
				"DOORBELL_OFF", "ACTIVE", "EVICTED");
			for (q = 0; q < d->nq; q++) {
				const struct kfd_queue *e = &d->q[q];
				const char *tn = kpm_enum_name(x->qtype_value, queue_types, NR_QTYPES, e->type);

				fprintf(fp, "      %016" PRIx64 "  ", e->addr);
				if (tn)
					fprintf(fp, "%-14s", tn);
				else
					fprintf(fp, "%-14ld", e->type);
				fprintf(fp, "  %8" PRIu64 "  %#12" PRIx64 "  %-6s  %s\n", e->queue_id,
					e->doorbell_off, e->is_active ? "yes" : "no", e->is_evicted ? "yes" : "no");
			}
		}
	}
}

/* JSON */

static void report_json(struct kfd_ctx *x, FILE *fp, int hex)
{
	struct kpm_json j;
	struct kpm_diag dg = { .kind = KPM_DIAG_JSON, .j = &j };
	long i, a, q, k;

	kpm_json_open(&j, fp);
	kpm_json_begin(&j, NULL, '{');
	kpm_json_bool(&j, "flushes_mes_contexts", x->has_flush);
	kpm_json_bool(&j, "mes_debugger_api", x->has_debugger_api);
	kpm_json_begin(&j, "diagnosis", '[');
	diagnose(x, &dg);
	kpm_diag_end(&dg);
	kpm_json_end(&j, ']');
	kpm_json_begin(&j, "devices", '[');
	for (i = 0; i < x->ng; i++) {
		struct kfd_gpu *g = &x->g[i];

		kpm_json_begin(&j, NULL, '{');
		kpm_json_hex(&j, "dev", g->dev);
		kpm_json_hex(&j, "id", g->gpu_id);
		kpm_json_hex(&j, "adev", g->adev);
		kpm_json_hex(&j, "kfd", g->kfd);
		if (g->kfd_enable_mes >= 0)
			kpm_json_bool(&j, "enable_mes", (int)g->kfd_enable_mes);
		if (g->has_mes) {
			kpm_json_hex(&j, "sched_version", g->sched_version);
			kpm_json_hex(&j, "kiq_version", g->kiq_version);
			kpm_json_begin(&j, "ring", '{');
			kpm_json_hex(&j, "addr", g->ring);
			kpm_json_str(&j, "name", g->ring_name);
			kpm_json_hex(&j, "ring", g->ring_buf);
			kpm_json_u64(&j, "ring_size", g->ring_size);
			kpm_json_u64(&j, "wptr", g->wptr);
			kpm_json_hex(&j, "gpu_addr", g->gpu_addr);
			kpm_json_u64(&j, "frames_not_in_dump", g->nmissing);
			kpm_json_begin(&j, "frames", '[');
			for (k = 0; k < g->nf; k++) {
				const struct mes_frame *f = &g->f[k];
				const char *n;

				if (f->unreadable || is_status_frame(x, f))
					continue;
				kpm_json_begin(&j, NULL, '{');
				kpm_json_u64(&j, "dw", f->dw);
				kpm_json_u64(&j, "opcode", f->opcode);
				n = opcode_name(x, f->opcode);
				if (n)
					kpm_json_str(&j, "opcode_name", n);
				if (f->misc >= 0) {
					kpm_json_i64(&j, "misc_opcode", f->misc);
					n = misc_name(x, f->misc);
					if (n)
						kpm_json_str(&j, "misc_opcode_name", n);
				}
				if (f->ctx) {
					kpm_json_hex(&j, "process_context_addr", f->ctx);
					if (f->misc >= 0)
						kpm_json_bool(&j, "process_ctx_flush", f->flush);
				}
				if (f->process_id)
					kpm_json_hex(&j, "process_id", f->process_id);
				if (f->doorbell)
					kpm_json_hex(&j, "doorbell_offset", f->doorbell);
				kpm_json_end(&j, '}');
			}
			kpm_json_end(&j, ']');
			kpm_json_end(&j, '}');
		}
		if (g->err[0])
			kpm_json_str(&j, "error", g->err);
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	kpm_json_begin(&j, "processes", '[');
	for (i = 0; i < x->np; i++) {
		struct kfd_proc *p = &x->p[i];

		kpm_json_begin(&j, NULL, '{');
		kpm_json_hex(&j, "addr", p->addr);
		kpm_json_hex(&j, "pasid", p->pasid);
		kpm_json_i64(&j, "pid", p->pid);
		kpm_json_str(&j, "comm", p->comm);
		kpm_json_hex(&j, "mm", p->mm);
		kpm_json_i64(&j, "ref", p->ref);
		kpm_json_str(&j, "state", proc_state(p));
		kpm_json_bool(&j, "in_table", !!(p->found & PS_HASHED));
		kpm_json_i64(&j, "holder_pid", p->holder_pid);
		kpm_json_u64(&j, "n_pdds", p->n_pdds);
		if (p->has_dbg) {
			kpm_json_bool(&j, "debug_trap_enabled", p->debug_trap_enabled);
			kpm_json_i64(&j, "runtime_state", p->runtime_state);
			kpm_json_i64(&j, "dbg_flags", p->dbg_flags);
		}
		if (p->err[0])
			kpm_json_str(&j, "error", p->err);
		kpm_json_begin(&j, "pdds", '[');
		for (a = 0; a < p->npdd; a++) {
			struct kfd_pdd *d = &p->pdd[a];

			kpm_json_begin(&j, NULL, '{');
			kpm_json_hex(&j, "addr", d->addr);
			kpm_json_hex(&j, "dev", d->dev);
			kpm_json_hex(&j, "gpu_id", d->gpu ? d->gpu->gpu_id : 0);
			kpm_json_bool(&j, "already_dequeued", d->already_dequeued);
			kpm_json_bool(&j, "runtime_inuse", d->runtime_inuse);
			kpm_json_i64(&j, "queue_count", d->queue_count);
			if (d->has_ctx) {
				kpm_json_hex(&j, "proc_ctx_bo", d->proc_ctx_bo);
				kpm_json_hex(&j, "proc_ctx_gpu_addr", d->proc_ctx_gpu_addr);
				kpm_json_hex(&j, "proc_ctx_cpu_ptr", d->proc_ctx_cpu_ptr);
			}
			if (d->has_dbg) {
				kpm_json_hex(&j, "spi_dbg_override", d->spi_dbg_override);
				kpm_json_hex(&j, "spi_dbg_launch_mode", d->spi_dbg_launch_mode);
				kpm_json_begin(&j, "watch_points", '[');
				for (q = 0; q < (long)d->nwatch; q++)
					kpm_json_u64(&j, NULL, d->watch_points[q]);
				kpm_json_end(&j, ']');
			}
			if (hex && d->proc_ctx_cpu_ptr && kpm_kptr_ok(x->t, d->proc_ctx_cpu_ptr)) {
				unsigned char b[CTX_BYTES];
				char s[2 * CTX_BYTES + 1];

				if (!kpm_read(x->t, d->proc_ctx_cpu_ptr, b, sizeof(b), "process context")) {
					kpm_hex_string(b, sizeof(b), s);
					kpm_json_str(&j, "proc_ctx_bytes", s);
				}
			}
			kpm_json_begin(&j, "queues", '[');
			for (q = 0; q < d->nq; q++) {
				const struct kfd_queue *e = &d->q[q];

				kpm_json_begin(&j, NULL, '{');
				kpm_json_hex(&j, "addr", e->addr);
				kpm_json_i64(&j, "type", e->type);
				kpm_json_u64(&j, "queue_id", e->queue_id);
				kpm_json_hex(&j, "doorbell_off", e->doorbell_off);
				kpm_json_bool(&j, "is_active", e->is_active);
				kpm_json_bool(&j, "is_evicted", e->is_evicted);
				kpm_json_end(&j, '}');
			}
			kpm_json_end(&j, ']');
			if (d->err[0])
				kpm_json_str(&j, "error", d->err);
			kpm_json_end(&j, '}');
		}
		kpm_json_end(&j, ']');
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	kpm_json_end(&j, '}');
	kpm_json_close(&j);
}

static long kfd_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	struct kfd_ctx x;
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
	fprintf(fp, "KFD DIAGNOSIS\n");
	n = diagnose(&x, &dg);
	if (!n)
		fprintf(fp, "  nothing wrong found\n");
	fputc('\n', fp);
	devices_text(&x, fp, kpm_opt_given(a, 'a'));
	fputc('\n', fp);
	procs_text(&x, fp, kpm_opt_given(a, 'x'));
	free_ctx(&x);
	return n;
}

static int kfd_triage(struct kpm_target *t, struct kpm_triage *tr)
{
	struct kfd_ctx x;
	struct kpm_diag dg = { .kind = KPM_DIAG_TRIAGE, .tr = tr };
	long i, a, npdd = 0;

	if (decode_all(&x, t))
		return -1;
	diagnose(&x, &dg);
	if (x.table_err[0])
		kpm_tr_partial(tr, "kfd_processes_table: %.200s", x.table_err);
	if (x.task_err[0])
		kpm_tr_partial(tr, "open /dev/kfd files: %.200s", x.task_err);
	for (i = 0; i < x.np; i++) {
		if (x.p[i].err[0])
			kpm_tr_partial(tr, "kfd_process %016" PRIx64 ": %s", x.p[i].addr, x.p[i].err);
		for (a = 0; a < x.p[i].npdd; a++) {
			npdd++;
			if (x.p[i].pdd[a].err[0])
				kpm_tr_partial(tr, "pdd %016" PRIx64 ": %s", x.p[i].pdd[a].addr,
					       x.p[i].pdd[a].err);
		}
	}
	for (i = 0; i < x.ng; i++)
		if (x.g[i].err[0])
			kpm_tr_partial(tr, "gpu_id %#" PRIx64 ": %s", x.g[i].gpu_id, x.g[i].err);
	kpm_tr_info(tr, "%ld KFD process%s, %ld pdd%s on %ld device%s; %s", x.np,
		    x.np == 1 ? "" : "es", npdd, npdd == 1 ? "" : "s", x.ng, x.ng == 1 ? "" : "s",
		    x.has_flush ? "this kernel flushes MES process contexts" :
		    x.has_debugger_api ? "this kernel does NOT flush MES process contexts" :
		    "no MES shader debugger API in this kernel");
	free_ctx(&x);
	return 0;
}

/* drgn's for_each_kfd_process() and for_each_kfd_pdd() */

static long kfd_processes(struct kpm_target *t, uint64_t parent, uint64_t *out, long max)
{
	struct kfd_ctx x;
	long i, n;
	char err[KPM_ERRLEN] = "";

	(void)parent;
	if (kfd_init(&x, t))
		return -1;
	walk_table(&x);
	walk_files(&x);
	for (i = 0; i < x.np && i < max; i++)
		out[i] = x.p[i].addr;
	n = x.np;
	if (x.table_err[0])
		snprintf(err, sizeof(err), "kfd_processes_table: %.200s", x.table_err);
	else if (x.task_err[0])
		snprintf(err, sizeof(err), "open /dev/kfd files: %.200s", x.task_err);
	free_ctx(&x);
	t->err[0] = 0;
	if (err[0])
		kpm_errf(t, "%s", err);
	return n;
}

static long kfd_pdds(struct kpm_target *t, uint64_t proc, uint64_t *out, long max)
{
	struct kfd_ctx x;
	uint64_t n, v, ptrs[MAX_PDDS];
	char why[KPM_ERRLEN];
	long i;
	int r;

	if (kfd_init(&x, t))
		return -1;
	if (kpm_read_member(t, proc, M(&x, P_N_PDDS), &n))
		return -1;
	r = read_pdd_ptrs(&x, proc, n, ptrs);
	if (r == -2) {
		snprintf(why, sizeof(why), "%s", t->err);
		kpm_errf(t, "kfd_process %#" PRIx64 ": %.200s", proc, why);
	}
	if (r)
		return -1;
	t->err[0] = 0;
	for (i = 0; i < (long)n; i++) {
		v = ptrs[i];
		if (!kpm_kptr_ok(t, v)) {
			kpm_errf(t, "kfd_process %#" PRIx64 ": pdds[%ld] %#" PRIx64
				 " is not a kernel address", proc, i, v);
			return i;
		}
		if (i < max)
			out[i] = v;
	}
	return n;
}

static const struct kpm_objects kfd_objects[] = {
	{ "process", "struct kfd_process *", NULL, kfd_processes },
	{ "pdd", "struct kfd_process_device *", "process", kfd_pdds },
	{ 0 },
};

static const struct kpm_opt kfd_opts[] = {
	{ 'a', KPM_OPT_FLAG, NULL, "every frame of the MES ring, not only the newest 16 API frames" },
	{ 'x', KPM_OPT_FLAG, NULL, "hex dump the first bytes of each process context" },
	{ 'j', KPM_OPT_FLAG, NULL, "JSON output" },
	{ 0 },
};

static const char *const kfd_help[] = {
	"  Finds every AMD KFD process: those in kfd_processes_table, and dying",
	"  ones that left it (their mm is gone) but that an open /dev/kfd file or a",
	"  queued release still holds.  For each process: pasid, lead thread, mm,",
	"  reference count, state (hashed, unhashed, release-queued) and, on",
	"  kernels with the KFD debugger (6.6+), its debug state; for each of its",
	"  per-device data (kfd_process_device): gpu_id, already_dequeued,",
	"  runtime_inuse, queues, the MES process context (proc_ctx_bo,",
	"  proc_ctx_gpu_addr, proc_ctx_cpu_ptr) and the shader debugger registers.",
	"  For each device: enable_mes, the MES scheduler and KIQ firmware versions,",
	"  and the API frames the host last wrote to the MES scheduler ring",
	"  (opcode by name, the process context a frame names, whether it flushes",
	"  it).  Whether this kernel flushes a process context from MES when the",
	"  process is dequeued (amdgpu_mes_flush_shader_debugger, 6.8+) comes from",
	"  its symbol table.",
	"",
	"  The diagnosis comes first: two pdds (live or dying) sharing one",
	"  proc_ctx_gpu_addr on a device; a process that ends with shader debugger",
	"  state on a kernel that does not flush; a SET_SHADER_DEBUGGER frame in",
	"  the MES ring for a context that was never flushed and that no live",
	"  process owns.",
	"",
	"  Needs amdgpu's debug info (\"mod -s amdgpu\"); the MES frames need the",
	"  MES API types (mes_v11_api_def.h) in it.",
	"",
	"    -a  every frame of the MES ring, status frames and frames missing from",
	"        the dump included, not only the newest 16 API frames.",
	"    -x  hex dump of the first 64 bytes of each process context.",
	"    -j  print the same as JSON; keys are the kernel's member names.",
	"",
	"  An object that cannot be read (a page excluded from the dump, a garbage",
	"  pointer) is reported on one line and the walk goes on.",
	"\nEXAMPLE",
	"  A dying process and a new one that got the same process context, and a",
	"  context of a process that is gone, never flushed from MES (the",
	"  6.12-kfd-stale fixture):",
	"",
	"    crash> kfd",
	"    KFD DIAGNOSIS",
	"      gpu_id 0x5fb1: pasid 0x1 (pid 47 \"sleep\", unhashed) and pasid 0x2 (pid 50 \"sh\", hashed) share proc_ctx_gpu_addr 0x7fff00a41000",
	"        pdd ffff8d3942401c00 (already_dequeued 1) and pdd ffff8d3942402000 (already_dequeued 0): MES keys its process state by this address; what it holds for one is applied to the other",
	"      gpu_id 0x5fb1: MES ring dw 128: SET_SHADER_DEBUGGER for process context 0x7fff00a3c000 was never flushed, and no live process owns that context",
	"        no KFD process in the dump has it: the process that did is gone",
	"",
	"    KFD DEVICES",
	"      KFD_NODE          GPU_ID    AMDGPU_DEVICE     ENABLE_MES  MES_SCHED    MES_KIQ      MES_API",
	"      ffff8d3940e62100  0x5fb1    ffff8d3943000000  yes         0x4b06e      0x4b068      0x4b",
	"      this kernel flushes MES process contexts on dequeue (amdgpu_mes_flush_shader_debugger)",
	"",
	"      MES RING mes_3.0.0 of gpu_id 0x5fb1: amdgpu_ring ffff8d39430448d0, ring ffff8d3942404000, 16384 bytes, wptr 896, gpu_addr 0x7fff00104000",
	"        7 API frames, 7 status frames, 0 frames not in the dump",
	"              DW  OPCODE                  MISC                  PROCESS_CONTEXT  FLUSH  PROCESS_ID  DOORBELL",
	"               0  ADD_QUEUE                                        7fff00a3c000             0x8003    0x1c02",
	"             128  MISC                    SET_SHADER_DEBUGGER      7fff00a3c000  no",
	"             256  REMOVE_QUEUE                                                                        0x1c02",
	"             384  ADD_QUEUE                                        7fff00a41000                0x1    0x1e02",
	"             512  MISC                    SET_SHADER_DEBUGGER      7fff00a41000  no",
	"             640  REMOVE_QUEUE                                                                        0x1e02",
	"             768  ADD_QUEUE                                        7fff00a41000                0x2    0x2002",
	"",
	"    KFD PROCESSES (kfd_processes_table: 1 hashed; open /dev/kfd files: 2 in 37 tasks; release queued: 0)",
	"      KFD_PROCESS          PASID      PID  COMM              MM                REF  STATE           PDDS  DEBUG",
	"      ffff8d3940d86000       0x2       50  sh                ffff8d394014d300    2  hashed             1  trap off, runtime ENABLED, dbg_flags 0",
	"        PDD               GPU_ID    DEQUEUED  INUSE  QUEUES  PROC_CTX_GPU_ADDR  PROC_CTX_BO       PROC_CTX_CPU_PTR  SPI_DBG_OVERRIDE  LAUNCH_MODE  WATCH_POINTS",
	"        ffff8d3942402000  0x5fb1    no        yes         1       7fff00a41000  ffff8d3942dc8ec0  ffff8d3942fd2000  0                 0            0 0 0 0",
	"          QUEUE             TYPE            QUEUE_ID  DOORBELL_OFF  ACTIVE  EVICTED",
	"          ffff8d3940d92c00  COMPUTE                0        0x2002  yes     no",
	"      ffff8d3940d85800       0x1       47  sleep             0000000000000000    1  unhashed           1  trap on, runtime ENABLED, dbg_flags 0x1",
	"        not in kfd_processes_table; held by an open /dev/kfd of pid 47",
	"        PDD               GPU_ID    DEQUEUED  INUSE  QUEUES  PROC_CTX_GPU_ADDR  PROC_CTX_BO       PROC_CTX_CPU_PTR  SPI_DBG_OVERRIDE  LAUNCH_MODE  WATCH_POINTS",
	"        ffff8d3942401c00  0x5fb1    yes       yes         0       7fff00a41000  ffff8d3942dc8780  ffff8d3942faa000  0x1808            0x6          0xe07fffff 0 0 0",
	NULL
};

KPM_DECODER(kfd_decoder) = {
	.name = "kfd",
	.summary = "AMD KFD processes, their MES process contexts, and stale contexts",
	.synopsis = "[-a] [-x] [-j]",
	.help = kfd_help,
	.opts = kfd_opts,
	.triage_order = 30,
	.applies = kfd_applies,
	.report = kfd_report,
	.triage = kfd_triage,
	.objects = kfd_objects,
};
