// SPDX-License-Identifier: GPL-2.0
/*
 * kpm.so: kpm's crash front end.  `extend kpm.so` adds one command per
 * subsystem; each is a thin layer over the decoder core (../core), which
 * reaches the dump only through the target below.
 */
#include "defs.h"
#include "target.h"
#include "nvme.h"
#include "kmemleak.h"

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

/* gdb wants the bare tag: "union handle_parts" -> "handle_parts" */
static char *tag(const char *type)
{
	if (!strncmp(type, "union ", 6))
		return (char *)type + 6;
	if (!strncmp(type, "struct ", 7))
		return (char *)type + 7;
	return (char *)type;
}

static int crash_member(struct kpm_target *t, const char *type, const char *member,
			long *off, long *size)
{
	(void)t;
	*off = MEMBER_OFFSET(tag(type), (char *)member);
	if (*off < 0)
		return -1;
	*size = MEMBER_SIZE(tag(type), (char *)member);
	return *size < 0 ? -1 : 0;
}

/*
 * Bitfields, also inside anonymous structs (union handle_parts): gdb's
 * "ptype /o" prints "byte: bit | size" for each, e.g.
 *   / *    2: 0   |     4 * /        u32 offset : 10;
 */
static int crash_member_bits(struct kpm_target *t, const char *type, const char *member,
			     long *bit_offset, long *bit_size)
{
	char cmd[BUFSIZE], line[BUFSIZE], name[BUFSIZE];
	long byte, bit, width;
	int found = 0;
	char *decl;

	(void)t;
	snprintf(cmd, sizeof(cmd), "ptype /o %s %s",
		 strncmp(type, "union ", 6) ? "struct" : "union", tag(type));
	open_tmpfile();
	if (!gdb_pass_through(cmd, pc->tmpfile, GNU_RETURN_ON_ERROR)) {
		close_tmpfile();
		return -1;
	}
	rewind(pc->tmpfile);
	while (!found && fgets(line, sizeof(line), pc->tmpfile)) {
		decl = strstr(line, "*/");
		if (!decl || sscanf(line, " /* %ld: %ld |", &byte, &bit) != 2)
			continue;
		if (sscanf(decl + 2, " %*s %[A-Za-z0-9_] : %ld;", name, &width) == 2 &&
		    !strcmp(name, member)) {
			*bit_offset = byte * 8 + bit;
			*bit_size = width;
			found = 1;
		}
	}
	close_tmpfile();
	return found ? 0 : -1;
}

static long crash_type_size(struct kpm_target *t, const char *type)
{
	(void)t;
	return STRUCT_SIZE(tag(type));
}

static int crash_symbol_at(struct kpm_target *t, uint64_t addr, char *name, size_t len,
			   uint64_t *offset)
{
	struct syment *sp;
	ulong off = 0;

	(void)t;
	sp = value_search(addr, &off);
	if (!sp)
		return -1;
	snprintf(name, len, "%s", sp->name);
	*offset = off;
	return 0;
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
	.member_bits = crash_member_bits,
	.type_size = crash_type_size,
	.enum_value = crash_enum_value,
	.percpu_offset = crash_percpu_offset,
	.symbol_at = crash_symbol_at,
};

static void crash_target(struct kpm_target *t)
{
	memset(t, 0, sizeof(*t));
	t->ops = &crash_ops;
}

/*
 * crash's fp is unbuffered: a report written straight to it costs a
 * write() per character.  Render into memory, hand crash one fwrite().
 */
static long run_report(struct kpm_target *t, kpm_report_fn fn, const void *arg)
{
	char *buf;
	size_t len;
	long ret;

	ret = kpm_report_mem(t, fn, arg, &buf, &len);
	if (buf)
		fwrite(buf, 1, len, fp);
	free(buf);
	return ret;
}

static long nvme_report(struct kpm_target *t, FILE *out, const void *flags)
{
	return kpm_nvme_report(t, out, *(const unsigned int *)flags);
}

static long kmemleak_report(struct kpm_target *t, FILE *out, const void *filter)
{
	return kpm_kmemleak_report(t, out, filter);
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
	if (run_report(&t, nvme_report, &flags) < 0)
		error(INFO, "%s\n", t.err);
}

/* kmemleak */

static char *help_kmemleak[] = {
	"kmemleak",
	"kmemleak objects, leaks and per-CPU leaks, from kmemleak's own bookkeeping",
	"[-p] [-l] [-c comm] [-s minsize] [-a address] [-x] [-j] [-S]",
	"  Reads every struct kmemleak_object on kmemleak's object_list and counts",
	"  the search trees (object_tree_root, object_phys_tree_root and, where the",
	"  kernel tracks per-CPU allocations, object_percpu_tree_root).  Prints a",
	"  summary first: objects by kind, reported leaks, and the allocation",
	"  backtraces that leaked the most bytes; then each selected object the way",
	"  /sys/kernel/debug/kmemleak shows it, plus kmemleak's bookkeeping: flags,",
	"  count/min_count, the stored checksum and the checksum recomputed from the",
	"  dump with the kernel's crc32 (for a per-CPU object over every possible",
	"  CPU), and the allocation backtrace from the stack depot.",
	"",
	"    -p  per-CPU objects only (OBJECT_PERCPU).",
	"    -l  reported leaks only (OBJECT_REPORTED): what the kernel's own",
	"        kmemleak report listed.",
	"    -c  objects allocated by this comm.",
	"    -s  objects of at least this many bytes.",
	"    -a  the object whose memory block contains this address (a per-CPU",
	"        address matches the object of its __percpu pointer).",
	"    -x  hex dump of the first 32 bytes, per CPU for per-CPU objects.",
	"    -j  JSON; object keys are struct kmemleak_object's members.",
	"    -S  the summary only.",
	"\nEXAMPLE",
	"  The leaks the kmemleak-test module left, the per-CPU one with its bytes:",
	"",
	"    crash> kmemleak -l -p -x",
	"    KMEMLEAK SUMMARY",
	"      object_list: 18613 objects: 18377 virtual, 34 phys, 202 per-CPU",
	"      trees: object_tree_root 18377 object_phys_tree_root 34 object_percpu_tree_root 202",
	"      reported leaks: 14 (13 virtual, 0 phys, 1 per-CPU), as /sys/kernel/debug/kmemleak lists them",
	"      unreferenced at the last scan: 14; reported earlier but referenced again: 0",
	"      largest leakers (reported, by allocation backtrace):",
	"             BYTES  OBJECTS  HANDLE      ALLOCATED BY",
	"              4096        1  0x054d0020  0xffffffffc0160111",
	"              4096        1  0x05550020  0xffffffffc0160136",
	"              4096        1  0x057a0020  0xffffffffc016014f",
	"              4096        1  0x059f0020  0xffffffffc0160168",
	"              4096        1  0x05c40020  0xffffffffc0160181",
	"",
	"    unreferenced object 0x24434 (size 64):",
	"      comm \"insmod\", pid 43, jiffies 4294893316 (age 11.576s)",
	"      kmemleak_object ffff8b1982143a50 percpu flags ALLOCATED|REPORTED|PERCPU count 0 min_count 1",
	"      checksum 0x00000000 recomputed 0x00000000 (chained over cpus): ok",
	"      hex dump (first 32 bytes on cpu 0):",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"      hex dump (first 32 bytes on cpu 1):",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................",
	"      backtrace (handle 0x6260020):",
	"        [<ffffffffbbcc08a7>] pcpu_alloc+0x458",
	"        [<ffffffffbbcc0972>] __alloc_percpu+0x10",
	"        [<ffffffffc01602ab>] 0xffffffffc01602ab",
	"        [<ffffffffbbc00729>] do_one_initcall+0x7a",
	"        [<ffffffffbbc87d48>] do_init_module+0x4a",
	"        [<ffffffffbbc896a2>] load_module+0x1712",
	"        [<ffffffffbbc8999e>] __do_sys_finit_module+0xa4",
	"        [<ffffffffbbc899ea>] __x64_sys_finit_module+0x13",
	"        [<ffffffffbbc01e69>] x64_sys_call+0xbc2",
	"        [<ffffffffbbe6abec>] do_syscall_64+0x3d",
	"        [<ffffffffbc0000af>] entry_SYSCALL_64_after_hwframe+0x4b",
	NULL
};

static void cmd_kmemleak(void)
{
	struct kpm_target t;
	struct kpm_kmemleak_filter f = { 0 };
	int c;

	while ((c = getopt(argcnt, args, "plc:s:a:xjS")) != EOF) {
		switch (c) {
		case 'p':
			f.flags |= KPM_KML_PERCPU;
			break;
		case 'l':
			f.flags |= KPM_KML_LEAKS;
			break;
		case 'c':
			f.flags |= KPM_KML_COMM;
			f.comm = optarg;
			break;
		case 's':
			f.flags |= KPM_KML_MINSIZE;
			f.min_size = stol(optarg, FAULT_ON_ERROR, NULL);
			break;
		case 'a':
			f.flags |= KPM_KML_ADDR;
			f.addr = htol(optarg, FAULT_ON_ERROR, NULL);
			break;
		case 'x':
			f.flags |= KPM_KML_HEX;
			break;
		case 'j':
			f.flags |= KPM_KML_JSON;
			break;
		case 'S':
			f.flags |= KPM_KML_SUMMARY;
			break;
		default:
			argerrs++;
			break;
		}
	}
	if (argerrs || args[optind])
		cmd_usage(pc->curcmd, SYNOPSIS);

	crash_target(&t);
	if (run_report(&t, kmemleak_report, &f) < 0)
		error(INFO, "%s\n", t.err);
}

static struct command_table_entry command_table[] = {
	{ "nvmeq", cmd_nvmeq, help_nvmeq, 0 },
	{ "kmemleak", cmd_kmemleak, help_kmemleak, 0 },
	{ NULL },
};

void __attribute__((constructor)) kpm_init(void)
{
	register_extension(command_table);
}

void __attribute__((destructor)) kpm_fini(void)
{
}
