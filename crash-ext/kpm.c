// SPDX-License-Identifier: GPL-2.0
/*
 * kpm.so: kpm's crash front end.  `extend kpm.so` adds one command per
 * subsystem; each is a thin layer over the decoder core (../core), which
 * reaches the dump only through the target below.
 */
#include "defs.h"
#include "target.h"
#include "nvme.h"

/* The target: crash's own readmem, symbol table and gdb's type info. */

static int crash_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	if (readmem(addr, KVADDR, buf, len, "kpm", RETURN_ON_ERROR | QUIET))
		return 0;
	kpm_errf(t, "page not in dump (excluded, or not mapped)");
	return -1;
}

static int crash_symbol(struct kpm_target *t, const char *name, uint64_t *addr)
{
	struct syment *sp = symbol_search((char *)name);

	(void)t;
	if (!sp)
		return -1;
	*addr = sp->value;
	return 0;
}

static int crash_member(struct kpm_target *t, const char *type, const char *member,
			long *off, long *size)
{
	(void)t;
	*off = MEMBER_OFFSET((char *)type, (char *)member);
	if (*off < 0)
		return -1;
	*size = MEMBER_SIZE((char *)type, (char *)member);
	return *size < 0 ? -1 : 0;
}

static long crash_type_size(struct kpm_target *t, const char *type)
{
	(void)t;
	return STRUCT_SIZE((char *)type);
}

static int crash_enum_value(struct kpm_target *t, const char *name, long *value)
{
	(void)t;
	return enumerator_value((char *)name, value) ? 0 : -1;
}

static int crash_percpu_offset(struct kpm_target *t, int cpu, uint64_t *off)
{
	if (cpu < 0 || cpu >= kt->cpus || cpu >= NR_CPUS) {
		kpm_errf(t, "cpu %d out of range", cpu);
		return -1;
	}
	*off = kt->__per_cpu_offset[cpu];
	return 0;
}

static const struct kpm_target_ops crash_ops = {
	.read = crash_read,
	.symbol = crash_symbol,
	.member = crash_member,
	.type_size = crash_type_size,
	.enum_value = crash_enum_value,
	.percpu_offset = crash_percpu_offset,
};

static void crash_target(struct kpm_target *t)
{
	memset(t, 0, sizeof(*t));
	t->ops = &crash_ops;
}

/* nvmeq */

static char *help_nvmeq[] = {
	"nvmeq",
	"NVMe PCI controllers, queues, and completions the driver would reject",
	"[-c | -C] [-s] [-j]",
	"  Finds every controller bound to the nvme (PCI) driver and prints, first,",
	"  every completion queue entry that is new for the queue's current phase",
	"  but whose command id names no live request: a tag beyond the tag set, a",
	"  tag without a request, or a generation counter (command id bits 15:12)",
	"  that differs from the request's, which is what a controller that",
	"  completed a command twice leaves behind.  Then one line per queue",
	"  (admin queue 0 and every I/O queue) with the kernel's nvme_queue fields.",
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
	"  A controller that posted a second completion for command id 0xc280:",
	"",
	"    crash> nvmeq",
	"    NVME DIAGNOSIS",
	"      nvme0 qid 2 cq slot 365 (cq_head): duplicate completion, command_id 0xc280 (genctr 12, tag 640)",
	"        request ffff8e8e80bb6200 for tag 640 has genctr 13 (nvme_request.genctr 109), state IDLE: it already completed",
	"        the same command id was already consumed from slot 364",
	"",
	"    NVME_DEV          NAME    PCI_DEVICE    ONLINE_QUEUES",
	"    ffff8e8e8016f000  nvme0   0000:00:04.0  3",
	"      QID  NVME_QUEUE        DEPTH  SQ_TAIL  LAST_SQ_TAIL  CQ_HEAD  CQ_PHASE  CQ_VECTOR  PENDING  BAD  SQ_DMA_ADDR  CQ_DMA_ADDR  FLAGS",
	"        0  ffff8e8e80806000     32       18            18       17         1          0        0    0       9f1000       a44000  ENABLED",
	"        1  ffff8e8e808060c0   1024      364           364      364         1          1        0    0       ae0000       9e4000  ENABLED",
	"        2  ffff8e8e80806180   1024      365           365      365         1          2        1    1       af0000       9e8000  ENABLED",
	"",
	"  The CQ ring around cq_head of the queue that holds it:",
	"",
	"    crash> nvmeq -c",
	"    ...",
	"      nvme queue 2 CQ ring at ffff8e8e809e8000 (cq_head 365, cq_phase 1):",
	"        SLOT  COMMAND_ID  GENCTR   TAG  STATUS  SQ_HEAD  SQ_ID  P  ENTRY     REQUEST           RQ_GENCTR  RQ_STATE   VERDICT",
	"         362      0xa280      10   640       0      363      2  1  consumed  ",
	"         363      0xb280      11   640       0      364      2  1  consumed  ",
	"         364      0xc280      12   640       0      365      2  1  consumed  ",
	"      -> 365      0xc280      12   640       0      365      2  1  NEW       ffff8e8e80bb6200         13  IDLE       stale genctr",
	"         366           0       0     0       0        0      0  0  empty     ",
	"    ...",
	NULL
};

static void cmd_nvmeq(void)
{
	struct kpm_target t;
	unsigned int flags = 0;
	int c;

	while ((c = getopt(argcnt, args, "cCsj")) != EOF) {
		switch (c) {
		case 'c':
			flags |= KPM_NVME_CQES;
			break;
		case 'C':
			flags |= KPM_NVME_ALLCQ;
			break;
		case 's':
			flags |= KPM_NVME_SQES;
			break;
		case 'j':
			flags |= KPM_NVME_JSON;
			break;
		default:
			argerrs++;
			break;
		}
	}
	if (argerrs || args[optind])
		cmd_usage(pc->curcmd, SYNOPSIS);

	crash_target(&t);
	if (kpm_nvme_report(&t, fp, flags) < 0)
		error(INFO, "nvmeq: %s\n", t.err);
}

static struct command_table_entry command_table[] = {
	{ "nvmeq", cmd_nvmeq, help_nvmeq, 0 },
	{ NULL },
};

void __attribute__((constructor)) kpm_init(void)
{
	register_extension(command_table);
}

void __attribute__((destructor)) kpm_fini(void)
{
}
