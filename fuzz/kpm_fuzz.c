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
 * it), output to memory; for `triage` itself, every decoder's entry.  Built with AddressSanitizer and UndefinedBehaviorSanitizer
 * (-fno-sanitize-recover): a decoder that reads out of bounds, overflows,
 * recurses without bound or leaks is a crash libFuzzer reports; a hang is
 * a -timeout.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kpm.h"
#include "snapshot.h"

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

static void die(const char *msg)
{
	fprintf(stderr, "kpm-fuzz: %s\n", msg);
	exit(2);
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

static void run(const struct kpm_decoder *d, int argc, char **argv)
{
	struct kpm_target t;
	char *buf = NULL;
	size_t len = 0;

	kpm_snapshot_target(snap, &t);
	kpm_run_mem(&t, d, argc, argv, &buf, &len);
	free(buf);
	kpm_target_done(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long touched[512];
	int nt = 0, i;
	size_t k;

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
