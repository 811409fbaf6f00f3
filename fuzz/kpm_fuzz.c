// SPDX-License-Identifier: GPL-2.0
/*
 * kpm-fuzz: libFuzzer harness for kpm's decoders, in process, on a
 * snapshot of what a decoder read from a real fixture (core/snapshot.h,
 * recorded by kpm-dump with KPM_RECORD=FILE).
 *
 *   KPM_FUZZ_SNAPSHOT=FILE KPM_FUZZ_ARGS="nvmeq" build/fuzz/kpm-fuzz [libFuzzer options] [CORPUS]
 *
 * KPM_FUZZ_ARGS is the command line of one registry command; "@SYMBOL" in
 * it becomes that symbol's address in the snapshot ("kpmwalk -t list
 * @modules").  Each input is a list of 8-byte mutations applied to the
 * snapshot's pages, which are restored afterwards:
 *
 *   u16 page selector, u16 byte offset (8-byte aligned), u8 op, u8, u16 arg
 *   op 0 flip bit (arg % 64) of the word     op 5 the address of another
 *   op 1 zero the word                              recorded page (+ offset):
 *   op 2 a small integer (arg)                      cycles, aliases
 *   op 3 a non-canonical address             op 6 drop the page (not in dump)
 *   op 4 a user address                      op 7 all ones (-1)
 *                                            op 8 the word itself + arg
 *
 * Then the command runs three ways: its report, its report with -j
 * (when it has -j), and its triage entry (`triage NAME`, when triage runs
 * it), output to memory; for `triage` itself, every decoder's entry.
 *
 * With KPM_FUZZ_DUMP=FILE and KPM_FUZZ_REGIONS="OFF:LEN,..." the input
 * mutates the dump file instead, the part that kpm parses itself before
 * any library reads the file (core/dumpfile.c): the file is held in a
 * memfd, and each 8-byte mutation is
 *
 *   u8 region (of KPM_FUZZ_REGIONS), u24 offset in it, u8 op, u8, u16 arg
 *   op 0 flip bit (arg % 8) of the byte     op 4 a le64 power of two (arg % 64)
 *   op 1 the byte = arg                     op 5 a le64 near the file's size
 *   op 2 a le32 small integer (arg)         op 6 cut the file there
 *   op 3 a le32 of all ones                 op 7 a le64 small integer (arg)
 *
 * Then kpm_dumpfile_check() and kpm_dumpfile_eraseinfo() read it, and when
 * the check lets the file through, the command (triage) runs on the
 * snapshot with that erase info, text and -j.  The file is restored.
 *
 * Built with AddressSanitizer and UndefinedBehaviorSanitizer
 * (-fno-sanitize-recover): a decoder that reads out of bounds, overflows,
 * recurses without bound or leaks is a crash libFuzzer reports; a hang is
 * a -timeout.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kpm.h"
#include "snapshot.h"
#include "dumpfile.h"

#define MAX_ARGS	16

static struct kpm_snapshot *snap;
static unsigned char *orig;	/* the pages as recorded */
static int *orig_present;
static long npages;
static int argc_cmd;
static char *argv_cmd[MAX_ARGS], *argv_json[MAX_ARGS + 1];
static char *argv_triage[] = { "triage", NULL, NULL };
static const struct kpm_decoder *dec, *triage;
static int has_json;

/* KPM_FUZZ_DUMP: the dump file, in a memfd */
#define MAX_REGIONS	16
static int dump_fd = -1;
static char dump_path[64];
static unsigned char *dump_orig;
static size_t dump_size, nregions;
static struct { size_t off, len; } regions[MAX_REGIONS];

static void die(const char *msg)
{
	fprintf(stderr, "kpm-fuzz: %s\n", msg);
	exit(2);
}

static void load_dump(const char *path, const char *spec)
{
	FILE *f = fopen(path, "rb");
	char *end;

	if (!f || fseek(f, 0, SEEK_END) || (long)(dump_size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		die("KPM_FUZZ_DUMP cannot be read");
	dump_orig = malloc(dump_size);
	if (!dump_orig || fread(dump_orig, 1, dump_size, f) != dump_size)
		die("KPM_FUZZ_DUMP cannot be read");
	fclose(f);
	dump_fd = memfd_create("kpm-fuzz-dump", 0);
	if (dump_fd < 0 || pwrite(dump_fd, dump_orig, dump_size, 0) != (ssize_t)dump_size)
		die("memfd_create");
	snprintf(dump_path, sizeof(dump_path), "/proc/self/fd/%d", dump_fd);
	while (spec && *spec && nregions < MAX_REGIONS) {
		regions[nregions].off = strtoul(spec, &end, 0);
		if (*end != ':')
			die("KPM_FUZZ_REGIONS is OFF:LEN,...");
		regions[nregions].len = strtoul(end + 1, &end, 0);
		if (regions[nregions].len && regions[nregions].off < dump_size) {
			if (regions[nregions].len > dump_size - regions[nregions].off)
				regions[nregions].len = dump_size - regions[nregions].off;
			nregions++;
		}
		spec = *end == ',' ? end + 1 : end;
	}
	if (!nregions)
		die("KPM_FUZZ_REGIONS names no part of the file");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("KPM_FUZZ_SNAPSHOT"), *args = getenv("KPM_FUZZ_ARGS");
	char err[256], *copy, *tok, *save = NULL;
	const struct kpm_opt *o;
	struct kpm_target t;
	long i;

	(void)argc;
	(void)argv;
	if (getenv("KPM_FUZZ_DUMP"))
		load_dump(getenv("KPM_FUZZ_DUMP"), getenv("KPM_FUZZ_REGIONS"));
	if (!path || !args)
		die("set KPM_FUZZ_SNAPSHOT=FILE and KPM_FUZZ_ARGS=\"COMMAND [ARGS]\"");
	snap = kpm_snapshot_load(path, err, sizeof(err));
	if (!snap)
		die(err);
	npages = kpm_snapshot_pages(snap);
	if (!npages)
		die("the snapshot has no pages");
	orig = malloc(npages * KPM_SNAP_PAGE);
	orig_present = malloc(npages * sizeof(*orig_present));
	if (!orig || !orig_present)
		die("out of memory");
	for (i = 0; i < npages; i++) {
		memcpy(orig + i * KPM_SNAP_PAGE, kpm_snapshot_page(snap, i), KPM_SNAP_PAGE);
		orig_present[i] = *kpm_snapshot_page_present(snap, i);
	}
	kpm_snapshot_target(snap, &t);
	copy = strdup(args);
	for (tok = strtok_r(copy, " ", &save); tok && argc_cmd < MAX_ARGS - 1; tok = strtok_r(NULL, " ", &save)) {
		uint64_t a;

		if (tok[0] == '@') {
			if (t.ops->symbol(&t, tok + 1, &a))
				die("an @SYMBOL of KPM_FUZZ_ARGS is not in the snapshot");
			if (asprintf(&tok, "%#llx", (unsigned long long)a) < 0)
				die("out of memory");
		}
		argv_cmd[argc_cmd++] = tok;
	}
	kpm_target_done(&t);
	dec = argc_cmd ? kpm_decoder(argv_cmd[0]) : NULL;
	triage = kpm_decoder("triage");
	if (!dec || !triage)
		die("KPM_FUZZ_ARGS does not name a registry command");
	for (o = dec->opts; o && o->letter; o++)
		has_json |= o->letter == 'j';
	argv_triage[1] = (char *)dec->name;
	memcpy(argv_json, argv_cmd, argc_cmd * sizeof(char *));
	argv_json[argc_cmd] = "-j";
	return 0;
}

static void run_erased(const struct kpm_decoder *d, int argc, char **argv, const char *eraseinfo)
{
	struct kpm_target t;
	char *buf = NULL;
	size_t len = 0;

	kpm_snapshot_target(snap, &t);
	if (eraseinfo)
		kpm_target_set_eraseinfo(&t, strdup(eraseinfo));
	kpm_run_mem(&t, d, argc, argv, &buf, &len);
	free(buf);
	kpm_target_done(&t);
}

static void run(const struct kpm_decoder *d, int argc, char **argv)
{
	run_erased(d, argc, argv, NULL);
}

static void put(size_t off, uint64_t v, int bytes, size_t (*touched)[2], int *nt)
{
	unsigned char b[8];
	int i;

	if (off >= dump_size)
		return;
	if ((size_t)bytes > dump_size - off)
		bytes = dump_size - off;
	for (i = 0; i < bytes; i++)
		b[i] = v >> (8 * i);
	if (pwrite(dump_fd, b, bytes, off) != bytes)
		die("pwrite");
	touched[*nt][0] = off;
	touched[*nt][1] = bytes;
	(*nt)++;
}

/* KPM_FUZZ_DUMP: the file mutated, checked, its erase info read, triage */
static int test_dump(const uint8_t *data, size_t size)
{
	size_t touched[512][2], cut = dump_size, k;
	char err[KPM_ERRLEN], *eraseinfo;
	int nt = 0, i;

	for (k = 0; k + 8 <= size && nt < (int)(sizeof(touched) / sizeof(touched[0])); k += 8) {
		const uint8_t *m = data + k;
		size_t r = m[0] % nregions;
		size_t off = regions[r].off + (m[1] | m[2] << 8 | (size_t)m[3] << 16) % regions[r].len;
		unsigned int op = m[4] % 8, arg = m[6] | m[7] << 8;

		switch (op) {
		case 0: put(off, dump_orig[off] ^ 1u << (arg % 8), 1, touched, &nt); break;
		case 1: put(off, arg & 0xff, 1, touched, &nt); break;
		case 2: put(off, arg, 4, touched, &nt); break;
		case 3: put(off, 0xffffffffu, 4, touched, &nt); break;
		case 4: put(off, 1ULL << (arg % 64), 8, touched, &nt); break;
		case 5: put(off, dump_size + arg - 0x8000, 8, touched, &nt); break;
		case 6: if (off < cut) cut = off; break;
		case 7: put(off, arg, 8, touched, &nt); break;
		}
	}
	if (cut < dump_size && ftruncate(dump_fd, cut))
		die("ftruncate");
	if (kpm_dumpfile_check(dump_path, err, sizeof(err)) >= 0) {
		eraseinfo = kpm_dumpfile_eraseinfo(dump_path);
		run_erased(dec, argc_cmd, argv_cmd, eraseinfo);
		if (has_json)
			run_erased(dec, argc_cmd + 1, argv_json, eraseinfo);
		free(eraseinfo);
	} else {
		free(kpm_dumpfile_eraseinfo(dump_path));	/* what it does with a bad file */
	}
	if (cut < dump_size && (ftruncate(dump_fd, dump_size) ||
				pwrite(dump_fd, dump_orig + cut, dump_size - cut, cut) != (ssize_t)(dump_size - cut)))
		die("restoring the file");
	for (i = nt - 1; i >= 0; i--)
		if (pwrite(dump_fd, dump_orig + touched[i][0], touched[i][1], touched[i][0]) != (ssize_t)touched[i][1])
			die("restoring the file");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long touched[512];
	int nt = 0, i;
	size_t k;

	if (dump_fd >= 0)
		return test_dump(data, size);
	for (k = 0; k + 8 <= size && nt < (int)(sizeof(touched) / sizeof(touched[0])); k += 8) {
		const uint8_t *m = data + k;
		long pi = (m[0] | m[1] << 8) % npages;
		unsigned int off = ((m[2] | m[3] << 8) % KPM_SNAP_PAGE) & ~7u;
		unsigned int op = m[4] % 9, arg = m[6] | m[7] << 8;
		unsigned char *page = kpm_snapshot_page(snap, pi);
		uint64_t w;

		touched[nt++] = pi;
		memcpy(&w, page + off, 8);
		switch (op) {
		case 0: w ^= 1ULL << (arg % 64); break;
		case 1: w = 0; break;
		case 2: w = arg; break;
		case 3: w = 0x0000800000000000ULL | (uint64_t)arg << 3; break;
		case 4: w = 0x00007f0000000000ULL + ((uint64_t)arg << 3); break;
		case 5: w = kpm_snapshot_page_addr(snap, arg % npages) + ((uint64_t)m[5] << 3 & 0xff8); break;
		case 6: *kpm_snapshot_page_present(snap, pi) = 0; break;
		case 7: w = ~0ULL; break;
		case 8: w += arg; break;
		}
		if (op != 6)
			memcpy(page + off, &w, 8);
	}
	run(dec, argc_cmd, argv_cmd);
	if (has_json)
		run(dec, argc_cmd + 1, argv_json);
	if (dec != triage && dec->triage_order > 0 && dec->triage)
		run(triage, 2, argv_triage);
	for (i = 0; i < nt; i++) {
		memcpy(kpm_snapshot_page(snap, touched[i]), orig + touched[i] * KPM_SNAP_PAGE, KPM_SNAP_PAGE);
		*kpm_snapshot_page_present(snap, touched[i]) = orig_present[touched[i]];
	}
	return 0;
}
