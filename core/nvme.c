// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder: NVMe PCI controllers, their queues, and bad completions.
 *
 * Controllers are found the way the driver core knows them: the nvme-pci
 * driver's pci_driver (nvme_driver, static in drivers/nvme/host/pci.c,
 * built in or in nvme.ko) lists its bound devices in driver_private's
 * klist_devices; each device's driver_data is the struct nvme_dev.
 *
 * A completion queue entry is "new" while its phase bit equals the phase
 * the driver expects at that slot (cq_phase from cq_head to the end of the
 * ring, the inverse after the wrap).  The driver takes a new entry's
 * command id apart into genctr (bits 15:12) and tag (bits 11:0), finds the
 * tag's request and rejects the entry when the request's genctr differs
 * (nvme_find_rq()).  The decoder does the same from the dump, so an entry
 * the driver would reject, or was rejecting when the kernel panicked, is
 * named with the reason.
 */
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"
#include "kernel.h"

/* NVME_AQ_BLK_MQ_DEPTH: admin command ids from here on are AENs. */
#define NVME_AQ_BLK_MQ_DEPTH	31
/*
 * nvme_queue.flags bits: #defines in drivers/nvme/host/pci.c, not in debug
 * info; the same numbers from v5.2 (POLLED) through v6.12.
 */
#define NVMEQ_ENABLED		0
#define NVMEQ_SQ_CMB		1
#define NVMEQ_DELETE_ERROR	2
#define NVMEQ_POLLED		3
static const char *const nvmeq_flag_names[] = {
	[NVMEQ_ENABLED] = "ENABLED",
	[NVMEQ_SQ_CMB] = "SQ_CMB",
	[NVMEQ_DELETE_ERROR] = "DELETE_ERROR",
	[NVMEQ_POLLED] = "POLLED",
};
/*
 * Bounds on what a dump may claim.  Controllers: more than this many bound
 * to one driver is a corrupt list, and the report says where it stopped.
 */
#define MAX_CTRLS	4096
#define MAX_QUEUES	8193	/* nvme_dev.queues is sized by nr_cpu_ids + 1 */
#define CQ_WINDOW	8
#define SQ_WINDOW	8

enum {
	PD_DRIVER, DD_P, DP_KLIST_DEVICES, KL_K_LIST, KN_N_NODE,
	DPV_KNODE_DRIVER, DPV_DEVICE, DEV_DRIVER_DATA, DEV_KOBJ, KOBJ_NAME,
	LH_NEXT, LH_PREV,
	ND_QUEUES, ND_TAGSET, ND_ADMIN_TAGSET, ND_ONLINE_QUEUES,
	ND_NR_ALLOCATED_QUEUES, ND_DEV, ND_CTRL, NC_INSTANCE,
	TS_TAGS, TG_NR_TAGS, TG_RQS, TG_STATIC_RQS,
	NQ_CQES, NQ_SQ_CMDS, NQ_SQ_DMA_ADDR, NQ_CQ_DMA_ADDR, NQ_Q_DEPTH,
	NQ_CQ_VECTOR, NQ_SQ_TAIL, NQ_LAST_SQ_TAIL, NQ_CQ_HEAD, NQ_QID,
	NQ_CQ_PHASE, NQ_SQES, NQ_FLAGS,
	CQE_RESULT, CQE_SQ_HEAD, CQE_SQ_ID, CQE_COMMAND_ID, CQE_STATUS,
	RQ_TAG, RQ_STATE, NR_GENCTR,
	RW_OPCODE, RW_FLAGS, RW_COMMAND_ID, RW_NSID, RW_SLBA, RW_LENGTH,
	NR_MEMBERS
};

static const struct kpm_member member_tab[NR_MEMBERS + 1] = {
	[PD_DRIVER] = KPM_MEMBER("pci_driver", driver),
	[DD_P] = KPM_MEMBER("device_driver", p),
	[DP_KLIST_DEVICES] = KPM_MEMBER("driver_private", klist_devices),
	[KL_K_LIST] = KPM_MEMBER("klist", k_list),
	[KN_N_NODE] = KPM_MEMBER("klist_node", n_node),
	[DPV_KNODE_DRIVER] = KPM_MEMBER("device_private", knode_driver),
	[DPV_DEVICE] = KPM_MEMBER("device_private", device),
	[DEV_DRIVER_DATA] = KPM_MEMBER("device", driver_data),
	[DEV_KOBJ] = KPM_MEMBER("device", kobj),
	[KOBJ_NAME] = KPM_MEMBER("kobject", name),
	[LH_NEXT] = KPM_MEMBER("list_head", next),
	[LH_PREV] = KPM_MEMBER("list_head", prev),
	[ND_QUEUES] = KPM_MEMBER("nvme_dev", queues),
	[ND_TAGSET] = KPM_MEMBER("nvme_dev", tagset),
	[ND_ADMIN_TAGSET] = KPM_MEMBER("nvme_dev", admin_tagset),
	[ND_ONLINE_QUEUES] = KPM_MEMBER("nvme_dev", online_queues),
	[ND_NR_ALLOCATED_QUEUES] = KPM_MEMBER_OPT("nvme_dev", nr_allocated_queues),
	[ND_DEV] = KPM_MEMBER("nvme_dev", dev),
	[ND_CTRL] = KPM_MEMBER("nvme_dev", ctrl),
	[NC_INSTANCE] = KPM_MEMBER("nvme_ctrl", instance),
	[TS_TAGS] = KPM_MEMBER("blk_mq_tag_set", tags),
	[TG_NR_TAGS] = KPM_MEMBER("blk_mq_tags", nr_tags),
	[TG_RQS] = KPM_MEMBER("blk_mq_tags", rqs),
	[TG_STATIC_RQS] = KPM_MEMBER("blk_mq_tags", static_rqs),
	[NQ_CQES] = KPM_MEMBER("nvme_queue", cqes),
	[NQ_SQ_CMDS] = KPM_MEMBER("nvme_queue", sq_cmds),
	[NQ_SQ_DMA_ADDR] = KPM_MEMBER("nvme_queue", sq_dma_addr),
	[NQ_CQ_DMA_ADDR] = KPM_MEMBER("nvme_queue", cq_dma_addr),
	[NQ_Q_DEPTH] = KPM_MEMBER("nvme_queue", q_depth),
	[NQ_CQ_VECTOR] = KPM_MEMBER("nvme_queue", cq_vector),
	[NQ_SQ_TAIL] = KPM_MEMBER("nvme_queue", sq_tail),
	[NQ_LAST_SQ_TAIL] = KPM_MEMBER_OPT("nvme_queue", last_sq_tail),
	[NQ_CQ_HEAD] = KPM_MEMBER("nvme_queue", cq_head),
	[NQ_QID] = KPM_MEMBER("nvme_queue", qid),
	[NQ_CQ_PHASE] = KPM_MEMBER("nvme_queue", cq_phase),
	[NQ_SQES] = KPM_MEMBER_OPT("nvme_queue", sqes),
	[NQ_FLAGS] = KPM_MEMBER("nvme_queue", flags),
	[CQE_RESULT] = KPM_MEMBER("nvme_completion", result),
	[CQE_SQ_HEAD] = KPM_MEMBER("nvme_completion", sq_head),
	[CQE_SQ_ID] = KPM_MEMBER("nvme_completion", sq_id),
	[CQE_COMMAND_ID] = KPM_MEMBER("nvme_completion", command_id),
	[CQE_STATUS] = KPM_MEMBER("nvme_completion", status),
	[RQ_TAG] = KPM_MEMBER("request", tag),
	[RQ_STATE] = KPM_MEMBER("request", state),
	[NR_GENCTR] = KPM_MEMBER("nvme_request", genctr),
	[RW_OPCODE] = KPM_MEMBER("nvme_rw_command", opcode),
	[RW_FLAGS] = KPM_MEMBER("nvme_rw_command", flags),
	[RW_COMMAND_ID] = KPM_MEMBER("nvme_rw_command", command_id),
	[RW_NSID] = KPM_MEMBER("nvme_rw_command", nsid),
	[RW_SLBA] = KPM_MEMBER("nvme_rw_command", slba),
	[RW_LENGTH] = KPM_MEMBER("nvme_rw_command", length),
	[NR_MEMBERS] = { NULL },
};

enum cqe_verdict {
	CQE_OK,			/* new, names an in-flight request */
	CQE_AEN,		/* admin asynchronous event */
	CQE_TAG_RANGE,		/* tag beyond the tag set */
	CQE_NO_REQUEST,		/* tag has no request */
	CQE_STALE_GENCTR,	/* request's genctr moved on: double completion */
	CQE_NOT_IN_FLIGHT,	/* genctr matches, but request is not in flight */
	CQE_RQ_UNREADABLE,
	CQE_TAGS_UNKNOWN,	/* the tag set could not be read: cannot tell */
};

struct cqe {
	unsigned int slot;
	uint64_t result;
	unsigned int sq_head, sq_id, command_id, status, phase;
	int is_new;
	uint64_t rq;
	int rq_genctr;		/* -1: unknown */
	long rq_state;		/* -1: unknown */
	enum cqe_verdict verdict;
	long dup_slot;		/* consumed slot with the same command id, or -1 */
};

struct queue {
	uint64_t addr;
	uint64_t qid, q_depth, sq_tail, last_sq_tail, cq_head, cq_phase;
	uint64_t cq_vector, flags, sqes, sq_dma_addr, cq_dma_addr;
	uint64_t cqes, sq_cmds;
	uint64_t tags, nr_tags, rqs;
	char tags_err[KPM_ERRLEN];	/* why the tag set is unknown, or "" */
	int has_last_sq_tail, has_sqes;
	unsigned char *ring;	/* copy of the CQ ring, or NULL */
	unsigned int npending;
	struct cqe *pending;	/* new entries, in the order the driver takes them */
	struct cqe **by_slot;	/* pending entry of each slot, or NULL */
	char err[KPM_ERRLEN];	/* why the queue (or its ring) could not be read */
};

struct ctrl {
	uint64_t dev;
	int instance;
	char pci[64];
	uint64_t online_queues;
	unsigned int nqueues;
	struct queue *q;
	char err[KPM_ERRLEN];
};

struct nvme_ctx {
	struct kpm_target *t;
	struct kpm_member m[NR_MEMBERS + 1];
	long sz_queue, sz_cqe, sz_request, sz_dev, sz_cmd, sz_ptr;
	long st_idle, st_in_flight, st_complete;
	struct ctrl *c;
	unsigned int nctrls;
	char walk_err[KPM_ERRLEN];
};

#define M(ctx, i) (&(ctx)->m[i])

static int nvme_init(struct nvme_ctx *x, struct kpm_target *t)
{
	static const char *const sized[] = {
		"nvme_queue", "nvme_completion", "request", "nvme_dev", "nvme_command",
	};
	long *sizes[] = { &x->sz_queue, &x->sz_cqe, &x->sz_request, &x->sz_dev, &x->sz_cmd };
	unsigned int i;

	memset(x, 0, sizeof(*x));
	x->t = t;
	memcpy(x->m, member_tab, sizeof(member_tab));
	if (kpm_resolve(t, x->m))
		return -1;
	x->sz_ptr = kpm_ptr_size(t);
	for (i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		*sizes[i] = t->ops->type_size(t, sized[i]);
		if (*sizes[i] <= 0) {
			kpm_errf(t, "this kernel's debug info has no struct %s (is nvme's debug info loaded?)", sized[i]);
			return -1;
		}
	}
	if (t->ops->enum_value(t, "MQ_RQ_IDLE", &x->st_idle) ||
	    t->ops->enum_value(t, "MQ_RQ_IN_FLIGHT", &x->st_in_flight) ||
	    t->ops->enum_value(t, "MQ_RQ_COMPLETE", &x->st_complete)) {
		kpm_errf(t, "this kernel's debug info has no enum mq_rq_state");
		return -1;
	}
	return 0;
}

static const char *rq_state_name(struct nvme_ctx *x, long st)
{
	if (st < 0)
		return "?";
	if (st == x->st_idle)
		return "IDLE";
	if (st == x->st_in_flight)
		return "IN_FLIGHT";
	if (st == x->st_complete)
		return "COMPLETE";
	return "UNKNOWN";
}

static const char *verdict_text(enum cqe_verdict v)
{
	switch (v) {
	case CQE_OK: return "ok";
	case CQE_AEN: return "async event";
	case CQE_TAG_RANGE: return "tag out of range";
	case CQE_NO_REQUEST: return "no request for tag";
	case CQE_STALE_GENCTR: return "stale genctr";
	case CQE_NOT_IN_FLIGHT: return "request not in flight";
	case CQE_RQ_UNREADABLE: return "request unreadable";
	case CQE_TAGS_UNKNOWN: return "cannot tell";
	}
	return "?";
}

/* Bad: the driver would reject it.  Unknown verdicts are not counted bad. */
static int verdict_bad(enum cqe_verdict v)
{
	return v != CQE_OK && v != CQE_AEN && v != CQE_TAGS_UNKNOWN;
}

static const char *opcode_name(int admin, unsigned int op)
{
	static const struct { unsigned char op; const char *name; } io[] = {
		{ 0x00, "flush" }, { 0x01, "write" }, { 0x02, "read" },
		{ 0x04, "write_uncor" }, { 0x05, "compare" },
		{ 0x08, "write_zeroes" }, { 0x09, "dsm" }, { 0x0c, "verify" },
		{ 0x0d, "resv_register" }, { 0x0e, "resv_report" },
		{ 0x11, "resv_acquire" }, { 0x15, "resv_release" },
		{ 0x79, "zone_mgmt_send" }, { 0x7a, "zone_mgmt_recv" },
		{ 0x7d, "zone_append" },
	}, adm[] = {
		{ 0x00, "delete_sq" }, { 0x01, "create_sq" },
		{ 0x02, "get_log_page" }, { 0x04, "delete_cq" },
		{ 0x05, "create_cq" }, { 0x06, "identify" }, { 0x08, "abort" },
		{ 0x09, "set_features" }, { 0x0a, "get_features" },
		{ 0x0c, "async_event" }, { 0x0d, "ns_mgmt" },
		{ 0x10, "activate_fw" }, { 0x11, "download_fw" },
		{ 0x14, "dev_self_test" }, { 0x15, "ns_attach" },
		{ 0x18, "keep_alive" }, { 0x19, "directive_send" },
		{ 0x1a, "directive_recv" }, { 0x7c, "dbbuf" },
		{ 0x80, "format_nvm" }, { 0x81, "security_send" },
		{ 0x82, "security_recv" }, { 0x84, "sanitize" },
	};
	unsigned int i;

	if (admin) {
		for (i = 0; i < sizeof(adm) / sizeof(adm[0]); i++)
			if (adm[i].op == op)
				return adm[i].name;
	} else {
		for (i = 0; i < sizeof(io) / sizeof(io[0]); i++)
			if (io[i].op == op)
				return io[i].name;
	}
	return "?";
}

/* Controllers: walk nvme_driver's klist of bound devices. */

struct dev_walk {
	struct nvme_ctx *x;
	uint64_t *devs;
	long n, cap;
	char err[KPM_ERRLEN];	/* the first device that could not be read */
};

static int dev_node(struct kpm_target *t, uint64_t node, void *arg)
{
	struct dev_walk *w = arg;
	struct nvme_ctx *x = w->x;
	uint64_t priv, dev, drvdata;

	/* node is klist_node.n_node inside device_private.knode_driver */
	priv = node - M(x, KN_N_NODE)->off - M(x, DPV_KNODE_DRIVER)->off;
	if (kpm_read_member(t, priv, M(x, DPV_DEVICE), &dev) ||
	    kpm_read_member(t, dev, M(x, DEV_DRIVER_DATA), &drvdata)) {
		if (!w->err[0])
			snprintf(w->err, sizeof(w->err), "%s", t->err);
		return 0;	/* the next node may still be fine */
	}
	if (w->n == w->cap) {
		long cap = w->cap ? 2 * w->cap : 16;
		uint64_t *n = realloc(w->devs, cap * sizeof(*n));

		if (!n) {
			kpm_errf(t, "out of memory");
			return -1;
		}
		w->devs = n;
		w->cap = cap;
	}
	w->devs[w->n++] = drvdata;
	return 0;
}

/* First whether the driver is there at all, then its debug info. */
static int nvme_applies(struct kpm_target *t)
{
	uint64_t drv;

	if (kpm_module_symbol(t, "nvme_driver", "the nvme (PCI) driver", &drv))
		return -1;
	return 0;
}

static int nvme_open(struct nvme_ctx *x, struct kpm_target *t, uint64_t *drv)
{
	if (nvme_applies(t))
		return -1;
	t->ops->symbol(t, "nvme_driver", drv);
	return nvme_init(x, t);
}

/*
 * Every controller: *devs (malloc'd), the count, or -1.  A walk cut short
 * returns what it reached and leaves the reason in x->walk_err.
 */
static long walk_devs(struct nvme_ctx *x, uint64_t drv, uint64_t **devs)
{
	struct kpm_target *t = x->t;
	struct dev_walk w = { .x = x };
	uint64_t p;
	long n;

	*devs = NULL;
	if (!kpm_kptr_ok(t, drv)) {
		/* e.g. nvme.ko's debug info given, but the module list unreadable */
		kpm_errf(t, "symbol nvme_driver is at %#" PRIx64 ", not a kernel address: the nvme module's debug info is not relocated to where the module was loaded",
			 drv);
		return -1;
	}
	if (kpm_read_member(t, drv + M(x, PD_DRIVER)->off, M(x, DD_P), &p))
		return -1;
	if (!p)
		return 0;	/* driver not registered */
	n = kpm_list_walk(t, p + M(x, DP_KLIST_DEVICES)->off + M(x, KL_K_LIST)->off,
			  M(x, LH_NEXT)->off, M(x, LH_PREV)->off, MAX_CTRLS, dev_node, &w);
	if (n < 0)
		snprintf(x->walk_err, sizeof(x->walk_err), "%s", t->err);
	else if (w.err[0])
		snprintf(x->walk_err, sizeof(x->walk_err), "%s", w.err);
	if (n < 0 && w.n == 0) {
		free(w.devs);
		return -1;
	}
	*devs = w.devs;
	return w.n;
}

static int diagnosed(enum cqe_verdict v);

/* Read the request behind a tag and judge a CQE the way nvme_find_rq() does. */
static void judge_cqe(struct nvme_ctx *x, struct queue *q, struct cqe *e)
{
	struct kpm_target *t = x->t;
	unsigned int tag = e->command_id & 0xfff, genctr = e->command_id >> 12;
	unsigned char *rqbuf;
	uint64_t rq = 0, v;

	e->rq_genctr = -1;
	e->rq_state = -1;
	if (q->qid == 0 && tag >= NVME_AQ_BLK_MQ_DEPTH) {
		e->verdict = CQE_AEN;
		return;
	}
	if (q->tags_err[0]) {
		/* unknown is not zero: no verdict without the tag set */
		e->verdict = CQE_TAGS_UNKNOWN;
		return;
	}
	if (tag >= q->nr_tags) {
		e->verdict = CQE_TAG_RANGE;
		return;
	}
	if (kpm_read_ptr(t, q->rqs + x->sz_ptr * (uint64_t)tag, &rq, "blk_mq_tags.rqs[tag]")) {
		e->verdict = CQE_RQ_UNREADABLE;
		return;
	}
	e->rq = rq;
	if (!rq) {
		e->verdict = CQE_NO_REQUEST;
		return;
	}
	rqbuf = malloc(x->sz_request);
	if (!rqbuf || kpm_read(t, rq, rqbuf, x->sz_request, "struct request") ||
	    kpm_read_member(t, rq + x->sz_request, M(x, NR_GENCTR), &v)) {
		free(rqbuf);
		e->verdict = CQE_RQ_UNREADABLE;
		return;
	}
	e->rq_state = (long)kpm_field(rqbuf, M(x, RQ_STATE));
	free(rqbuf);
	e->rq_genctr = (int)v;
	if ((v & 0xf) != genctr)
		e->verdict = CQE_STALE_GENCTR;
	else if (e->rq_state != x->st_in_flight)
		e->verdict = CQE_NOT_IN_FLIGHT;
	else
		e->verdict = CQE_OK;
}

static void decode_cqe(struct nvme_ctx *x, struct queue *q, unsigned int slot, struct cqe *e)
{
	const unsigned char *p = q->ring + (size_t)slot * x->sz_cqe;

	memset(e, 0, sizeof(*e));
	e->slot = slot;
	e->result = kpm_field(p, M(x, CQE_RESULT));
	e->sq_head = kpm_field(p, M(x, CQE_SQ_HEAD));
	e->sq_id = kpm_field(p, M(x, CQE_SQ_ID));
	e->command_id = kpm_field(p, M(x, CQE_COMMAND_ID));
	e->status = kpm_field(p, M(x, CQE_STATUS));
	e->phase = e->status & 1;
	e->dup_slot = -1;
}

/* The entry at @slot: the judged one if it is pending, else decoded as is. */
static void cqe_at(struct nvme_ctx *x, struct queue *q, unsigned int slot, struct cqe *e)
{
	if (q->by_slot && q->by_slot[slot]) {
		*e = *q->by_slot[slot];
		return;
	}
	decode_cqe(x, q, slot, e);
	e->rq_genctr = -1;
	e->rq_state = -1;
}

/* The phase the driver expects of a new entry at @slot. */
static unsigned int new_phase(const struct queue *q, unsigned int slot)
{
	return slot >= q->cq_head ? q->cq_phase : !q->cq_phase;
}

static void scan_ring(struct nvme_ctx *x, struct queue *q)
{
	unsigned int i, slot, nbad = 0;
	int32_t *last;		/* command id -> the latest consumed slot holding it */
	struct cqe e;

	q->pending = calloc(q->q_depth, sizeof(*q->pending));
	q->by_slot = calloc(q->q_depth, sizeof(*q->by_slot));
	if (!q->pending || !q->by_slot)
		return;
	/* Pending entries: from cq_head on, while the phase says "new". */
	for (i = 0; i < q->q_depth; i++) {
		slot = (q->cq_head + i) % q->q_depth;
		decode_cqe(x, q, slot, &e);
		if (e.phase != new_phase(q, slot))
			break;
		e.is_new = 1;
		judge_cqe(x, q, &e);
		nbad += diagnosed(e.verdict);
		q->pending[q->npending++] = e;
	}
	for (i = 0; i < q->npending; i++)
		q->by_slot[q->pending[i].slot] = &q->pending[i];
	if (!nbad)
		return;
	/*
	 * For each bad entry, the consumed entry with the same command id
	 * that the driver took last: one pass over the consumed slots, newest
	 * first, then a lookup per bad entry.
	 */
	last = malloc(65536 * sizeof(*last));
	if (!last)
		return;
	memset(last, 0xff, 65536 * sizeof(*last));
	for (i = 1; i <= q->q_depth - q->npending; i++) {
		slot = (q->cq_head + q->q_depth - i) % q->q_depth;
		decode_cqe(x, q, slot, &e);
		if (e.phase == !new_phase(q, slot) && last[e.command_id] < 0)
			last[e.command_id] = slot;
	}
	for (i = 0; i < q->npending; i++)
		if (diagnosed(q->pending[i].verdict))
			q->pending[i].dup_slot = last[q->pending[i].command_id];
	free(last);
}

/* nvme_queue_tagset(): the blk_mq_tags of a queue, or why it is unknown. */
static void read_tags(struct nvme_ctx *x, uint64_t tagset_tags, const char *tagset_err,
		      uint64_t admin_tags, const char *admin_err, struct queue *q)
{
	struct kpm_target *t = x->t;
	uint64_t tags = 0;

	if (q->qid == 0) {
		if (admin_err[0]) {
			snprintf(q->tags_err, sizeof(q->tags_err), "admin tag set unreadable (%.200s)", admin_err);
			return;
		}
		tags = admin_tags;
	} else {
		if (tagset_err[0]) {
			snprintf(q->tags_err, sizeof(q->tags_err), "tag set unreadable (%.200s)", tagset_err);
			return;
		}
		if (kpm_read_ptr(t, tagset_tags + x->sz_ptr * (q->qid - 1), &tags, "blk_mq_tag_set.tags[]")) {
			snprintf(q->tags_err, sizeof(q->tags_err), "tag set unreadable (%.200s)", t->err);
			return;
		}
	}
	if (!tags) {
		/* a real NULL: the queue has no tags, so every tag is out of range */
		q->nr_tags = 0;
		return;
	}
	if (!kpm_kptr_ok(t, tags)) {
		snprintf(q->tags_err, sizeof(q->tags_err), "tag set unreadable (blk_mq_tags pointer %#" PRIx64 " is not a kernel address)",
			 tags);
		return;
	}
	q->tags = tags;
	if (kpm_read_member(t, tags, M(x, TG_NR_TAGS), &q->nr_tags) ||
	    kpm_read_member(t, tags, M(x, TG_RQS), &q->rqs))
		snprintf(q->tags_err, sizeof(q->tags_err), "tag set unreadable (%.200s)", t->err);
}

static void read_queue(struct nvme_ctx *x, uint64_t tagset_tags, const char *tagset_err,
		       uint64_t admin_tags, const char *admin_err, struct queue *q)
{
	struct kpm_target *t = x->t;
	unsigned char *buf = malloc(x->sz_queue);

	if (!buf || kpm_read(t, q->addr, buf, x->sz_queue, "struct nvme_queue")) {
		snprintf(q->err, sizeof(q->err), "%s", buf ? t->err : "out of memory");
		free(buf);
		return;
	}
	q->qid = kpm_field(buf, M(x, NQ_QID));
	q->q_depth = kpm_field(buf, M(x, NQ_Q_DEPTH));
	q->sq_tail = kpm_field(buf, M(x, NQ_SQ_TAIL));
	q->has_last_sq_tail = kpm_has(M(x, NQ_LAST_SQ_TAIL));
	q->last_sq_tail = kpm_field(buf, M(x, NQ_LAST_SQ_TAIL));
	q->cq_head = kpm_field(buf, M(x, NQ_CQ_HEAD));
	q->cq_phase = kpm_field(buf, M(x, NQ_CQ_PHASE));
	q->cq_vector = kpm_field(buf, M(x, NQ_CQ_VECTOR));
	q->flags = kpm_field(buf, M(x, NQ_FLAGS));
	q->has_sqes = kpm_has(M(x, NQ_SQES));
	q->sqes = kpm_field(buf, M(x, NQ_SQES));
	q->sq_dma_addr = kpm_field(buf, M(x, NQ_SQ_DMA_ADDR));
	q->cq_dma_addr = kpm_field(buf, M(x, NQ_CQ_DMA_ADDR));
	q->cqes = kpm_field(buf, M(x, NQ_CQES));
	q->sq_cmds = kpm_field(buf, M(x, NQ_SQ_CMDS));
	free(buf);

	if (q->q_depth < 2 || q->q_depth > 65536 || q->cq_head >= q->q_depth) {
		snprintf(q->err, sizeof(q->err), "implausible queue: q_depth %" PRIu64 " cq_head %" PRIu64,
			 q->q_depth, q->cq_head);
		return;
	}
	read_tags(x, tagset_tags, tagset_err, admin_tags, admin_err, q);

	q->ring = malloc((size_t)q->q_depth * x->sz_cqe);
	if (!q->ring || kpm_read(t, q->cqes, q->ring, (size_t)q->q_depth * x->sz_cqe, "CQ ring")) {
		snprintf(q->err, sizeof(q->err), "%s", q->ring ? t->err : "out of memory");
		free(q->ring);
		q->ring = NULL;
		return;
	}
	scan_ring(x, q);
}

/* SQ entry size: 1 << sqes where the kernel has it (v5.4+), else the command's. */
static unsigned int sq_entry_size(struct nvme_ctx *x, const struct queue *q)
{
	return q->has_sqes && q->sqes < 16 ? 1u << q->sqes : (unsigned int)x->sz_cmd;
}

static void read_ctrl(struct nvme_ctx *x, uint64_t dev, struct ctrl *c)
{
	struct kpm_target *t = x->t;
	unsigned char *buf = malloc(x->sz_dev);
	uint64_t queues, pdev, name, tagset_tags = 0, admin_tags = 0, nalloc, i;
	char tagset_err[KPM_ERRLEN] = "", admin_err[KPM_ERRLEN] = "";

	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->instance = -1;
	if (!buf || kpm_read(t, dev, buf, x->sz_dev, "struct nvme_dev")) {
		snprintf(c->err, sizeof(c->err), "%s", buf ? t->err : "out of memory");
		free(buf);
		return;
	}
	queues = kpm_field(buf, M(x, ND_QUEUES));
	c->online_queues = kpm_field(buf, M(x, ND_ONLINE_QUEUES));
	nalloc = kpm_field(buf, M(x, ND_NR_ALLOCATED_QUEUES));
	pdev = kpm_field(buf, M(x, ND_DEV));
	c->instance = (int)kpm_get(buf, M(x, ND_CTRL)->off + M(x, NC_INSTANCE)->off,
				   M(x, NC_INSTANCE)->size);
	free(buf);

	/* kobject.name: read to its NUL (dev_name() of the PCI function) */
	if (kpm_read_member(t, pdev + M(x, DEV_KOBJ)->off, M(x, KOBJ_NAME), &name) ||
	    kpm_read_string(t, name, c->pci, sizeof(c->pci) - 1, "device name") < 0)
		strcpy(c->pci, "?");

	if (kpm_read_ptr(t, dev + M(x, ND_TAGSET)->off + M(x, TS_TAGS)->off, &tagset_tags,
			 "nvme_dev.tagset.tags"))
		snprintf(tagset_err, sizeof(tagset_err), "%s", t->err);
	else if (!kpm_kptr_ok(t, tagset_tags))
		snprintf(tagset_err, sizeof(tagset_err), "nvme_dev.tagset.tags is %#" PRIx64,
			 tagset_tags);
	if (kpm_read_ptr(t, dev + M(x, ND_ADMIN_TAGSET)->off + M(x, TS_TAGS)->off, &admin_tags,
			 "nvme_dev.admin_tagset.tags") ||
	    (kpm_kptr_ok(t, admin_tags) &&
	     kpm_read_ptr(t, admin_tags, &admin_tags, "nvme_dev.admin_tagset.tags[0]")))
		snprintf(admin_err, sizeof(admin_err), "%s", t->err);
	else if (!kpm_kptr_ok(t, admin_tags) && admin_tags)
		snprintf(admin_err, sizeof(admin_err), "nvme_dev.admin_tagset.tags is %#" PRIx64,
			 admin_tags);

	/* Queues 0..online_queues-1 are live; nr_allocated_queues bounds the array. */
	c->nqueues = c->online_queues;
	if (nalloc && c->nqueues > nalloc)
		c->nqueues = nalloc;
	if (c->nqueues > MAX_QUEUES) {
		snprintf(c->err, sizeof(c->err), "online_queues %" PRIu64 ": more than %d, only the first %d decoded",
			 c->online_queues, MAX_QUEUES, MAX_QUEUES);
		c->nqueues = MAX_QUEUES;
	}
	c->q = calloc(c->nqueues ? c->nqueues : 1, sizeof(*c->q));
	if (!c->q) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		c->nqueues = 0;
		return;
	}
	for (i = 0; i < c->nqueues; i++) {
		c->q[i].addr = queues + i * x->sz_queue;
		c->q[i].qid = i;
		read_queue(x, tagset_tags, tagset_err, admin_tags, admin_err, &c->q[i]);
	}
}

static void free_ctx(struct nvme_ctx *x)
{
	unsigned int i, k;

	for (i = 0; i < x->nctrls; i++) {
		for (k = 0; k < x->c[i].nqueues; k++) {
			free(x->c[i].q[k].ring);
			free(x->c[i].q[k].pending);
			free(x->c[i].q[k].by_slot);
		}
		free(x->c[i].q);
	}
	free(x->c);
}

/* Output */

/* What to print (from the command's options). */
#define F_CQES		0x1	/* -c: the CQ ring around cq_head */
#define F_ALLCQ		0x2	/* -C: every CQ slot */
#define F_SQES		0x4	/* -s: SQ entries before sq_tail */
#define F_JSON		0x8	/* -j */

static void flag_names(uint64_t flags, char *buf, size_t len)
{
	kpm_flag_names(flags, nvmeq_flag_names,
		       sizeof(nvmeq_flag_names) / sizeof(nvmeq_flag_names[0]), "(none)", buf, len);
}

/* Pending entries shown in the diagnosis: rejected ones, and unjudgeable ones. */
static int diagnosed(enum cqe_verdict v)
{
	return verdict_bad(v) || v == CQE_TAGS_UNKNOWN;
}

static void print_diagnosis_line(struct nvme_ctx *x, FILE *fp, struct ctrl *c,
				 struct queue *q, struct cqe *e)
{
	static const char *const what[] = {
		[CQE_TAG_RANGE] = "completion of a command never submitted",
		[CQE_NO_REQUEST] = "completion of a command never submitted",
		[CQE_STALE_GENCTR] = "duplicate completion",
		[CQE_NOT_IN_FLIGHT] = "completion of a request not in flight",
		[CQE_RQ_UNREADABLE] = "completion whose request cannot be read",
		[CQE_TAGS_UNKNOWN] = "cannot tell",
	};

	fprintf(fp, "  nvme%d qid %" PRIu64 " cq slot %u%s: %s%s%s, command_id %#x (genctr %u, tag %u)\n",
		c->instance, q->qid, e->slot, e->slot == q->cq_head ? " (cq_head)" : "",
		what[e->verdict], e->verdict == CQE_TAGS_UNKNOWN ? ": " : "",
		e->verdict == CQE_TAGS_UNKNOWN ? q->tags_err : "",
		e->command_id, e->command_id >> 12, e->command_id & 0xfff);
	switch (e->verdict) {
	case CQE_STALE_GENCTR:
		fprintf(fp, "    request %" PRIx64 " for tag %u has genctr %d (nvme_request.genctr %d), state %s: it already completed\n",
			e->rq, e->command_id & 0xfff, e->rq_genctr & 0xf, e->rq_genctr,
			rq_state_name(x, e->rq_state));
		break;
	case CQE_NOT_IN_FLIGHT:
		fprintf(fp, "    request %" PRIx64 " for tag %u has the same genctr but is %s\n",
			e->rq, e->command_id & 0xfff, rq_state_name(x, e->rq_state));
		break;
	case CQE_NO_REQUEST:
		fprintf(fp, "    tag %u has no request\n", e->command_id & 0xfff);
		break;
	case CQE_TAG_RANGE:
		fprintf(fp, "    tag %u is beyond the queue's %" PRIu64 " tags\n", e->command_id & 0xfff, q->nr_tags);
		break;
	default:
		break;
	}
	if (e->dup_slot >= 0)
		fprintf(fp, "    the same command id was already consumed from slot %ld\n", e->dup_slot);
}

static unsigned int count_bad(struct queue *q)
{
	unsigned int i, n = 0;

	for (i = 0; i < q->npending; i++)
		n += verdict_bad(q->pending[i].verdict);
	return n;
}

/* NEW: pending; consumed: taken by the driver (this lap, or the last one). */
static const char *cqe_state(const struct queue *q, const struct cqe *e)
{
	if (e->is_new)
		return "NEW";
	if (!e->command_id && !e->status && !e->sq_head && !e->sq_id && !e->result)
		return "empty";
	return "consumed";
}

/* The CQ slots -c (a window around cq_head) and -C (all) show, text and JSON alike. */
static void cq_window(const struct queue *q, unsigned int flags, unsigned int *first,
		      unsigned int *count)
{
	if (flags & F_ALLCQ) {
		*first = 0;
		*count = q->q_depth;
	} else {
		*first = (q->cq_head + q->q_depth - CQ_WINDOW) % q->q_depth;
		*count = CQ_WINDOW + (q->npending > CQ_WINDOW ? q->npending : CQ_WINDOW);
		if (*count > q->q_depth)
			*count = q->q_depth;
	}
}

static void print_cq(struct nvme_ctx *x, FILE *fp, struct queue *q, unsigned int flags)
{
	unsigned int first, count, i, slot;
	struct cqe e;

	if (!q->ring)
		return;
	cq_window(q, flags, &first, &count);
	fprintf(fp, "\n  nvme queue %" PRIu64 " CQ ring at %" PRIx64 " (cq_head %" PRIu64 ", cq_phase %" PRIu64 "):\n",
		q->qid, q->cqes, q->cq_head, q->cq_phase);
	fprintf(fp, "    SLOT  COMMAND_ID  GENCTR   TAG  STATUS  SQ_HEAD  SQ_ID  P  ENTRY     REQUEST           RQ_GENCTR  RQ_STATE   VERDICT\n");
	for (i = 0; i < count; i++) {
		slot = (first + i) % q->q_depth;
		cqe_at(x, q, slot, &e);
		fprintf(fp, "  %s%4u  %#10x  %6u  %4u  %#6x  %7u  %5u  %u  %-8s  ",
			slot == q->cq_head ? "->" : "  ", slot, e.command_id, e.command_id >> 12,
			e.command_id & 0xfff, e.status >> 1, e.sq_head, e.sq_id, e.phase,
			cqe_state(q, &e));
		if (e.is_new && e.rq)
			fprintf(fp, "%016" PRIx64 "  %9d  %-9s  %s\n", e.rq, e.rq_genctr & 0xf,
				rq_state_name(x, e.rq_state), verdict_text(e.verdict));
		else if (e.is_new)
			fprintf(fp, "%-16s  %9s  %-9s  %s\n", "-", "-", "-", verdict_text(e.verdict));
		else
			fprintf(fp, "\n");
	}
}

static void print_sq(struct nvme_ctx *x, FILE *fp, struct queue *q)
{
	struct kpm_target *t = x->t;
	unsigned int i, slot, n = SQ_WINDOW, esz;
	unsigned char *sqe;

	esz = sq_entry_size(x, q);
	fprintf(fp, "\n  nvme queue %" PRIu64 " SQ ring at %" PRIx64 " (sq_tail %" PRIu64 ", entries before the tail):\n",
		q->qid, q->sq_cmds, q->sq_tail);
	if (q->flags & (1u << NVMEQ_SQ_CMB)) {
		fprintf(fp, "    SQ is in the controller memory buffer (SQ_CMB): not in the dump\n");
		return;
	}
	if (n > q->q_depth)
		n = q->q_depth;
	sqe = malloc(esz);
	if (!sqe)
		return;
	fprintf(fp, "    SLOT  OPCODE            COMMAND_ID  GENCTR   TAG  NSID  SLBA              LENGTH\n");
	for (i = n; i > 0; i--) {
		slot = (q->sq_tail + q->q_depth - i) % q->q_depth;
		if (kpm_read(t, q->sq_cmds + (uint64_t)slot * esz, sqe, esz, "SQ entry")) {
			fprintf(fp, "    %4u  %s\n", slot, t->err);
			continue;
		}
		unsigned int op = kpm_field(sqe, M(x, RW_OPCODE));
		unsigned int cid = kpm_field(sqe, M(x, RW_COMMAND_ID));

		fprintf(fp, "    %4u  %#04x %-12s  %#10x  %6u  %4u  %4" PRIu64, slot, op,
			opcode_name(q->qid == 0, op), cid, cid >> 12, cid & 0xfff,
			kpm_field(sqe, M(x, RW_NSID)));
		if (q->qid && (op == 0x01 || op == 0x02))
			fprintf(fp, "  %-16" PRIu64 "  %" PRIu64 "\n", kpm_field(sqe, M(x, RW_SLBA)),
				kpm_field(sqe, M(x, RW_LENGTH)) + 1);
		else
			fprintf(fp, "  %-16s  %s\n", "-", "-");
	}
	free(sqe);
}

static void report_text(struct nvme_ctx *x, FILE *fp, unsigned int flags)
{
	unsigned int i, k, p, nbad = 0;
	char fl[64];

	fprintf(fp, "NVME DIAGNOSIS\n");
	for (i = 0; i < x->nctrls; i++)
		for (k = 0; k < x->c[i].nqueues; k++) {
			struct queue *q = &x->c[i].q[k];

			for (p = 0; p < q->npending; p++)
				if (diagnosed(q->pending[p].verdict)) {
					print_diagnosis_line(x, fp, &x->c[i], q, &q->pending[p]);
					nbad++;
				}
		}
	if (!nbad)
		fprintf(fp, "  no queue holds a completion the driver would reject\n");
	for (i = 0; i < x->nctrls; i++)
		for (k = 0; k < x->c[i].nqueues; k++)
			if (x->c[i].q[k].err[0])
				fprintf(fp, "  nvme%d qid %u: %s\n", x->c[i].instance, k, x->c[i].q[k].err);
	if (x->walk_err[0])
		fprintf(fp, "  controller list: %s\n", x->walk_err);

	for (i = 0; i < x->nctrls; i++) {
		struct ctrl *c = &x->c[i];

		fprintf(fp, "\nNVME_DEV          NAME    PCI_DEVICE    ONLINE_QUEUES\n");
		fprintf(fp, "%016" PRIx64 "  nvme%-3d %-12s  %" PRIu64 "\n", c->dev, c->instance, c->pci,
			c->online_queues);
		if (c->err[0]) {
			fprintf(fp, "  %s\n", c->err);
			continue;
		}
		fprintf(fp, "  QID  NVME_QUEUE        DEPTH  SQ_TAIL  LAST_SQ_TAIL  CQ_HEAD  CQ_PHASE  CQ_VECTOR  PENDING  BAD  SQ_DMA_ADDR  CQ_DMA_ADDR  FLAGS\n");
		for (k = 0; k < c->nqueues; k++) {
			struct queue *q = &c->q[k];

			if (!q->q_depth && q->err[0]) {
				fprintf(fp, "  %3u  %016" PRIx64 "  (unreadable)\n", k, q->addr);
				continue;
			}
			flag_names(q->flags, fl, sizeof(fl));
			fprintf(fp, "  %3" PRIu64 "  %016" PRIx64 "  %5" PRIu64 "  %7" PRIu64 "  ",
				q->qid, q->addr, q->q_depth, q->sq_tail);
			if (q->has_last_sq_tail)
				fprintf(fp, "%12" PRIu64, q->last_sq_tail);
			else
				fprintf(fp, "%12s", "-");
			fprintf(fp, "  %7" PRIu64 "  %8" PRIu64 "  %9" PRIu64 "  %7u  %3u  %11" PRIx64 "  %11" PRIx64 "  %s\n",
				q->cq_head, q->cq_phase, q->cq_vector, q->npending, count_bad(q),
				q->sq_dma_addr, q->cq_dma_addr, fl);
		}
		for (k = 0; k < c->nqueues; k++) {
			if (flags & (F_CQES | F_ALLCQ))
				print_cq(x, fp, &c->q[k], flags);
			if ((flags & F_SQES) && c->q[k].q_depth)
				print_sq(x, fp, &c->q[k]);
		}
	}
}

static void json_cqe(struct nvme_ctx *x, struct kpm_json *j, const struct cqe *e)
{
	kpm_json_begin(j, NULL, '{');
	kpm_json_u64(j, "slot", e->slot);
	kpm_json_u64(j, "command_id", e->command_id);
	kpm_json_u64(j, "genctr", e->command_id >> 12);
	kpm_json_u64(j, "tag", e->command_id & 0xfff);
	kpm_json_u64(j, "status", e->status);
	kpm_json_u64(j, "sq_head", e->sq_head);
	kpm_json_u64(j, "sq_id", e->sq_id);
	kpm_json_u64(j, "result", e->result);
	kpm_json_u64(j, "phase", e->phase);
	kpm_json_bool(j, "new", e->is_new);
	if (e->is_new) {
		kpm_json_str(j, "verdict", verdict_text(e->verdict));
		kpm_json_bool(j, "bad", verdict_bad(e->verdict));
		kpm_json_hex(j, "request", e->rq);
		kpm_json_i64(j, "request_genctr", e->rq_genctr);
		kpm_json_str(j, "request_state", rq_state_name(x, e->rq_state));
		kpm_json_i64(j, "duplicate_of_slot", e->dup_slot);
	}
	kpm_json_end(j, '}');
}

static void json_sq(struct nvme_ctx *x, struct kpm_json *j, struct queue *q)
{
	unsigned int i, slot, n = SQ_WINDOW, esz = sq_entry_size(x, q);
	unsigned char *sqe;

	if (q->flags & (1u << NVMEQ_SQ_CMB) || !(sqe = malloc(esz)))
		return;		/* SQ in the CMB is not in a dump */
	if (n > q->q_depth)
		n = q->q_depth;
	kpm_json_begin(j, "sq_ring", '[');
	for (i = n; i > 0; i--) {
		slot = (q->sq_tail + q->q_depth - i) % q->q_depth;
		kpm_json_begin(j, NULL, '{');
		kpm_json_u64(j, "slot", slot);
		if (kpm_read(x->t, q->sq_cmds + (uint64_t)slot * esz, sqe, esz, "SQ entry")) {
			kpm_json_str(j, "error", x->t->err);
		} else {
			kpm_json_u64(j, "opcode", kpm_field(sqe, M(x, RW_OPCODE)));
			kpm_json_str(j, "opcode_name", opcode_name(q->qid == 0, kpm_field(sqe, M(x, RW_OPCODE))));
			kpm_json_u64(j, "flags", kpm_field(sqe, M(x, RW_FLAGS)));
			kpm_json_u64(j, "command_id", kpm_field(sqe, M(x, RW_COMMAND_ID)));
			kpm_json_u64(j, "nsid", kpm_field(sqe, M(x, RW_NSID)));
			kpm_json_u64(j, "slba", kpm_field(sqe, M(x, RW_SLBA)));
			kpm_json_u64(j, "length", kpm_field(sqe, M(x, RW_LENGTH)));
		}
		kpm_json_end(j, '}');
	}
	kpm_json_end(j, ']');
	free(sqe);
}

static void report_json(struct nvme_ctx *x, FILE *fp, unsigned int flags)
{
	struct kpm_json j;
	unsigned int i, k, p;
	char fl[64];

	kpm_json_open(&j, fp);
	kpm_json_begin(&j, NULL, '{');
	kpm_json_begin(&j, "diagnosis", '[');
	for (i = 0; i < x->nctrls; i++)
		for (k = 0; k < x->c[i].nqueues; k++) {
			struct queue *q = &x->c[i].q[k];

			for (p = 0; p < q->npending; p++) {
				struct cqe *e = &q->pending[p];

				if (!diagnosed(e->verdict))
					continue;
				kpm_json_begin(&j, NULL, '{');
				kpm_json_i64(&j, "instance", x->c[i].instance);
				kpm_json_u64(&j, "qid", q->qid);
				kpm_json_u64(&j, "slot", e->slot);
				kpm_json_u64(&j, "command_id", e->command_id);
				kpm_json_u64(&j, "genctr", e->command_id >> 12);
				kpm_json_u64(&j, "tag", e->command_id & 0xfff);
				kpm_json_str(&j, "verdict", verdict_text(e->verdict));
				if (e->verdict == CQE_TAGS_UNKNOWN)
					kpm_json_str(&j, "why", q->tags_err);
				kpm_json_hex(&j, "request", e->rq);
				kpm_json_i64(&j, "request_genctr", e->rq_genctr);
				kpm_json_str(&j, "request_state", rq_state_name(x, e->rq_state));
				kpm_json_i64(&j, "duplicate_of_slot", e->dup_slot);
				kpm_json_end(&j, '}');
			}
		}
	kpm_json_end(&j, ']');
	kpm_json_begin(&j, "controllers", '[');
	for (i = 0; i < x->nctrls; i++) {
		struct ctrl *c = &x->c[i];

		kpm_json_begin(&j, NULL, '{');
		kpm_json_hex(&j, "address", c->dev);
		kpm_json_i64(&j, "instance", c->instance);
		kpm_json_str(&j, "pci_device", c->pci);
		kpm_json_u64(&j, "online_queues", c->online_queues);
		if (c->err[0])
			kpm_json_str(&j, "error", c->err);
		kpm_json_begin(&j, "queues", '[');
		for (k = 0; k < c->nqueues; k++) {
			struct queue *q = &c->q[k];

			kpm_json_begin(&j, NULL, '{');
			kpm_json_hex(&j, "address", q->addr);
			if (q->err[0])
				kpm_json_str(&j, "error", q->err);
			if (q->q_depth) {
				kpm_json_u64(&j, "qid", q->qid);
				kpm_json_u64(&j, "q_depth", q->q_depth);
				kpm_json_u64(&j, "sq_tail", q->sq_tail);
				if (q->has_last_sq_tail)
					kpm_json_u64(&j, "last_sq_tail", q->last_sq_tail);
				kpm_json_u64(&j, "cq_head", q->cq_head);
				kpm_json_u64(&j, "cq_phase", q->cq_phase);
				kpm_json_u64(&j, "cq_vector", q->cq_vector);
				kpm_json_u64(&j, "flags", q->flags);
				flag_names(q->flags, fl, sizeof(fl));
				kpm_json_str(&j, "flag_names", fl);
				if (q->has_sqes)
					kpm_json_u64(&j, "sqes", q->sqes);
				kpm_json_u64(&j, "sq_dma_addr", q->sq_dma_addr);
				kpm_json_u64(&j, "cq_dma_addr", q->cq_dma_addr);
				kpm_json_hex(&j, "cqes", q->cqes);
				kpm_json_hex(&j, "sq_cmds", q->sq_cmds);
				kpm_json_u64(&j, "pending", q->npending);
				kpm_json_u64(&j, "bad", count_bad(q));
				if (flags & F_SQES)
					json_sq(x, &j, q);
				if (q->ring && (flags & (F_CQES | F_ALLCQ))) {
					unsigned int first, count;

					/* the slots the text shows, in the same order */
					cq_window(q, flags, &first, &count);
					kpm_json_begin(&j, "cq_ring", '[');
					for (p = 0; p < count; p++) {
						struct cqe e;

						cqe_at(x, q, (first + p) % q->q_depth, &e);
						json_cqe(x, &j, &e);
					}
					kpm_json_end(&j, ']');
				}
			}
			kpm_json_end(&j, '}');
		}
		kpm_json_end(&j, ']');
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	if (x->walk_err[0])
		kpm_json_str(&j, "error", x->walk_err);
	kpm_json_end(&j, '}');
	kpm_json_close(&j);
}

/* Read every controller and queue into x; 0, or -1 with t->err. */
static int decode_all(struct nvme_ctx *x, struct kpm_target *t)
{
	uint64_t drv, *devs;
	long n, i;

	if (nvme_open(x, t, &drv))
		return -1;
	t->err[0] = 0;
	n = walk_devs(x, drv, &devs);
	if (n < 0)
		return -1;
	x->c = calloc(n ? n : 1, sizeof(*x->c));
	if (!x->c) {
		free(devs);
		kpm_errf(t, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		read_ctrl(x, devs[i], &x->c[i]);
	x->nctrls = n;
	free(devs);
	return 0;
}

static long nvme_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	struct nvme_ctx x;
	unsigned int flags = 0, i, k;
	long nbad = 0;

	flags |= kpm_opt_given(a, 'c') ? F_CQES : 0;
	flags |= kpm_opt_given(a, 'C') ? F_ALLCQ : 0;
	flags |= kpm_opt_given(a, 's') ? F_SQES : 0;
	flags |= kpm_opt_given(a, 'j') ? F_JSON : 0;
	if (decode_all(&x, t))
		return -1;
	if (flags & F_JSON)
		report_json(&x, fp, flags);
	else
		report_text(&x, fp, flags);
	for (i = 0; i < x.nctrls; i++)
		for (k = 0; k < x.c[i].nqueues; k++)
			nbad += count_bad(&x.c[i].q[k]);
	free_ctx(&x);
	return nbad;
}

static int nvme_triage(struct kpm_target *t, struct kpm_triage *tr)
{
	struct nvme_ctx x;
	unsigned int i, k, p, nq = 0;
	char line[512];
	FILE *mem;

	if (decode_all(&x, t))
		return -1;
	for (i = 0; i < x.nctrls; i++) {
		struct ctrl *c = &x.c[i];

		if (c->err[0])
			kpm_tr_partial(tr, "nvme controller %016" PRIx64 ": %s", c->dev, c->err);
		for (k = 0; k < c->nqueues; k++) {
			struct queue *q = &c->q[k];

			nq++;
			if (q->err[0])
				kpm_tr_partial(tr, "nvme%d qid %u: %s", c->instance, k, q->err);
			for (p = 0; p < q->npending; p++) {
				struct cqe *e = &q->pending[p];
				struct kpm_json *j;
				char *text = NULL, *l, *nl;
				size_t len = 0;

				if (!diagnosed(e->verdict))
					continue;
				/* the same lines nvmeq's diagnosis prints */
				mem = open_memstream(&text, &len);
				if (!mem)
					continue;
				print_diagnosis_line(&x, mem, c, q, e);
				fclose(mem);
				for (l = text; l && *l; l = nl ? nl + 1 : NULL) {
					nl = strchr(l, '\n');
					snprintf(line, sizeof(line), "%.*s", nl ? (int)(nl - l) : (int)strlen(l), l);
					if (l == text)
						kpm_tr_finding(tr, "%s", line + strspn(line, " "));
					else
						kpm_tr_detail(tr, "%s", line + strspn(line, " "));
					if (!nl)
						break;
				}
				free(text);
				j = kpm_tr_data(tr);
				kpm_json_i64(j, "instance", c->instance);
				kpm_json_u64(j, "qid", q->qid);
				kpm_json_u64(j, "slot", e->slot);
				kpm_json_u64(j, "command_id", e->command_id);
				kpm_json_u64(j, "genctr", e->command_id >> 12);
				kpm_json_u64(j, "tag", e->command_id & 0xfff);
				kpm_json_str(j, "verdict", verdict_text(e->verdict));
				kpm_json_hex(j, "request", e->rq);
				kpm_json_i64(j, "request_genctr", e->rq_genctr);
				kpm_json_str(j, "request_state", rq_state_name(&x, e->rq_state));
				kpm_json_i64(j, "duplicate_of_slot", e->dup_slot);
			}
		}
	}
	if (x.walk_err[0])
		kpm_tr_partial(tr, "controller list: %s", x.walk_err);
	kpm_tr_info(tr, "%u controller%s, %u queue%s", x.nctrls, x.nctrls == 1 ? "" : "s",
		    nq, nq == 1 ? "" : "s");
	free_ctx(&x);
	return 0;
}

/* drgn's for_each_nvme_dev() and for_each_nvme_queue() */

static long nvme_devs(struct kpm_target *t, uint64_t parent, uint64_t *out, long max)
{
	struct nvme_ctx x;
	uint64_t drv, *devs;
	long n, i;

	if (nvme_open(&x, t, &drv))
		return -1;
	t->err[0] = 0;
	n = walk_devs(&x, drv, &devs);
	if (n < 0)
		return -1;
	for (i = 0; i < n && i < max; i++)
		out[i] = devs[i];
	free(devs);
	if (x.walk_err[0])
		kpm_errf(t, "%s", x.walk_err);
	return n;
}

static long nvme_queues(struct kpm_target *t, uint64_t dev, uint64_t *out, long max)
{
	struct nvme_ctx x;
	uint64_t base, online, nalloc = 0;
	long i;

	if (nvme_init(&x, t))
		return -1;
	if (kpm_read_member(t, dev, M(&x, ND_QUEUES), &base) ||
	    kpm_read_member(t, dev, M(&x, ND_ONLINE_QUEUES), &online) ||
	    (kpm_has(M(&x, ND_NR_ALLOCATED_QUEUES)) &&
	     kpm_read_member(t, dev, M(&x, ND_NR_ALLOCATED_QUEUES), &nalloc)))
		return -1;
	t->err[0] = 0;
	if (nalloc && online > nalloc)
		online = nalloc;
	if (online > MAX_QUEUES) {
		kpm_errf(t, "online_queues %" PRIu64 ": more than %d", online, MAX_QUEUES);
		online = MAX_QUEUES;
	}
	for (i = 0; i < (long)online && i < max; i++)
		out[i] = base + i * x.sz_queue;
	return online;
}

static const struct kpm_objects nvme_objects[] = {
	{ "dev", "struct nvme_dev *", NULL, nvme_devs },
	{ "queue", "struct nvme_queue *", "dev", nvme_queues },
	{ 0 },
};

static const struct kpm_opt nvme_opts[] = {
	{ 'c', KPM_OPT_FLAG, NULL, "decode the CQ ring around cq_head" },
	{ 'C', KPM_OPT_FLAG, NULL, "decode every CQ slot" },
	{ 's', KPM_OPT_FLAG, NULL, "decode the SQ entries before sq_tail" },
	{ 'j', KPM_OPT_FLAG, NULL, "JSON output" },
	{ 0 },
};

static const char *const nvme_help[] = {
	"  Finds every controller bound to the nvme (PCI) driver and prints, first,",
	"  every completion queue entry that is new for the queue's current phase",
	"  but whose command id names no live request: a tag beyond the tag set, a",
	"  tag without a request, or a generation counter (command id bits 15:12)",
	"  that differs from the request's, which is what a controller that",
	"  completed a command twice leaves behind.  An entry whose tag set cannot",
	"  be read is named too, as \"cannot tell\", never judged on a guess.  Then",
	"  one line per queue (admin queue 0 and every I/O queue) with the kernel's",
	"  nvme_queue fields.",
	"",
	"  Works with nvme built in, or as a module once its debug info is loaded",
	"  with \"mod -s nvme\" (and \"mod -s nvme_core\").",
	"",
	"    -c  decode the CQ ring around cq_head: command id split into genctr",
	"        and tag, status, sq_head, sq_id, phase, whether the entry is new",
	"        for the current phase, and for new entries the request the tag",
	"        maps to, its genctr and state.",
	"    -C  like -c, every slot of the ring.",
	"    -s  decode the submission queue entries before sq_tail: opcode, command",
	"        id, nsid, and for reads and writes slba and length in blocks.",
	"    -j  print the same as JSON; queue keys are struct nvme_queue's members.",
	"",
	"  An object that cannot be read (a page excluded from the dump, a garbage",
	"  pointer) is reported on one line and the walk goes on.",
	"\nEXAMPLE",
	"  A controller that posted a second completion for command id 0xc000:",
	"",
	"    crash> nvmeq",
	"    NVME DIAGNOSIS",
	"      nvme0 qid 2 cq slot 365 (cq_head): duplicate completion, command_id 0xc000 (genctr 12, tag 0)",
	"        request ffff9d8602dc0000 for tag 0 has genctr 13 (nvme_request.genctr 109), state IDLE: it already completed",
	"        the same command id was already consumed from slot 364",
	"",
	"    NVME_DEV          NAME    PCI_DEVICE    ONLINE_QUEUES",
	"    ffff9d8600a90000  nvme0   0000:00:04.0  3",
	"      QID  NVME_QUEUE        DEPTH  SQ_TAIL  LAST_SQ_TAIL  CQ_HEAD  CQ_PHASE  CQ_VECTOR  PENDING  BAD  SQ_DMA_ADDR  CQ_DMA_ADDR  FLAGS",
	"        0  ffff9d86002b7000     32       18            18       17         1          0        0    0      2d07000      2d06000  ENABLED",
	"        1  ffff9d86002b70c0   1024      364           364      364         1          1        0    0      2d30000      21d4000  ENABLED",
	"        2  ffff9d86002b7180   1024      365           365      365         1          2        1    1      2d40000      2194000  ENABLED",
	"",
	"  The CQ ring around cq_head of the queue that holds it:",
	"",
	"    crash> nvmeq -c",
	"    ...",
	"      nvme queue 2 CQ ring at ffff9d8602194000 (cq_head 365, cq_phase 1):",
	"        SLOT  COMMAND_ID  GENCTR   TAG  STATUS  SQ_HEAD  SQ_ID  P  ENTRY     REQUEST           RQ_GENCTR  RQ_STATE   VERDICT",
	"         362      0xa000      10     0       0      363      2  1  consumed  ",
	"         363      0xb000      11     0       0      364      2  1  consumed  ",
	"         364      0xc000      12     0       0      365      2  1  consumed  ",
	"      -> 365      0xc000      12     0       0      365      2  1  NEW       ffff9d8602dc0000         13  IDLE       stale genctr",
	"         366           0       0     0       0        0      0  0  empty     ",
	"    ...",
	NULL
};

KPM_DECODER(nvmeq_decoder) = {
	.name = "nvmeq",
	.summary = "NVMe PCI controllers, queues, and completions the driver would reject",
	.synopsis = "[-c | -C] [-s] [-j]",
	.help = nvme_help,
	.opts = nvme_opts,
	.triage_order = 10,
	.applies = nvme_applies,
	.report = nvme_report,
	.triage = nvme_triage,
	.objects = nvme_objects,
};
