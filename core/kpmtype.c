// SPDX-License-Identifier: GPL-2.0
/*
 * kpmtype: what kpm's core sees of a type in this kernel's debug info, the
 * way every decoder resolves it: struct size, each member's offset and
 * size and, for a bitfield, its bit position and width; with -a, the
 * members' values at an address, bitfields extracted as the decoders
 * extract them.  For checking a decoder's view against the debugger's.
 */
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"

static long kpmtype_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	int json = kpm_opt_given(a, 'j'), have_addr = kpm_opt_given(a, 'a'), i, bad = 0;
	uint64_t addr = kpm_opt_num(a, 'a');
	struct kpm_json j;

	if (!a->npos) {
		kpm_errf(t, "which type? (TYPE or TYPE.MEMBER)");
		return -2;
	}
	if (json) {
		kpm_json_open(&j, fp);
		kpm_json_begin(&j, NULL, '[');
	} else {
		fprintf(fp, "%-32s  %6s  %4s  %10s  %8s%s\n", "MEMBER", "OFFSET", "SIZE", "BIT_OFFSET",
			"BIT_SIZE", have_addr ? "  VALUE" : "");
	}
	for (i = 0; i < a->npos; i++) {
		char type[128], *member;
		struct kpm_member m = { 0 };
		uint64_t v = 0;
		int ok, readable = 0;
		long size;

		snprintf(type, sizeof(type), "%s", a->pos[i]);
		member = strrchr(type, '.');
		if (member)
			*member++ = 0;
		if (!member) {
			size = t->ops->type_size(t, type);
			if (json) {
				kpm_json_begin(&j, NULL, '{');
				kpm_json_str(&j, "type", type);
				if (size >= 0)
					kpm_json_i64(&j, "size", size);
				else
					kpm_json_str(&j, "error", "not in this kernel's debug info");
				kpm_json_end(&j, '}');
			} else if (size >= 0) {
				fprintf(fp, "%-32s  %6s  %4ld\n", type, "", size);
			} else {
				fprintf(fp, "%-32s  not in this kernel's debug info\n", type);
			}
			bad += size < 0;
			continue;
		}
		m.type = type;
		m.name = member;
		ok = kpm_resolve_one(t, &m) == 0;
		if (ok && have_addr)
			readable = kpm_read_member(t, addr, &m, &v) == 0;
		bad += !ok;
		if (json) {
			kpm_json_begin(&j, NULL, '{');
			kpm_json_str(&j, "type", type);
			kpm_json_str(&j, "member", member);
			if (ok) {
				kpm_json_i64(&j, "offset", m.off);
				kpm_json_i64(&j, "size", m.size);
				kpm_json_i64(&j, "bit_offset", m.bit_size ? m.bit_off : m.off * 8);
				kpm_json_i64(&j, "bit_size", m.bit_size);
				if (readable)
					kpm_json_u64(&j, "value", v);
				else if (have_addr)
					kpm_json_str(&j, "error", t->err);
			} else {
				kpm_json_str(&j, "error", "not in this kernel's debug info");
			}
			kpm_json_end(&j, '}');
			continue;
		}
		if (!ok) {
			fprintf(fp, "%s.%-*s  not in this kernel's debug info\n", type,
				(int)(31 - strlen(type) > 0 ? 31 - strlen(type) : 0), member);
			continue;
		}
		fprintf(fp, "%-32s  %6ld  %4ld  %10ld  %8ld", a->pos[i], m.off, m.size,
			m.bit_size ? m.bit_off : m.off * 8, m.bit_size);
		if (have_addr && readable)
			fprintf(fp, "  %#" PRIx64, v);
		else if (have_addr)
			fprintf(fp, "  (%s)", t->err);
		fputc('\n', fp);
	}
	if (json) {
		kpm_json_end(&j, ']');
		kpm_json_close(&j);
	}
	return bad;
}

static const struct kpm_opt kpmtype_opts[] = {
	{ 'a', KPM_OPT_ADDR, "address", "read the members' values at this address" },
	{ 'j', KPM_OPT_FLAG, NULL, "JSON output" },
	{ 0 },
};

static const char *const kpmtype_help[] = {
	"  Prints what kpm's decoders see of a type in this kernel's debug info,",
	"  resolved the way every decoder resolves it (crash's gdb, drgn's types, or",
	"  DWARF in kpm-dump): for TYPE its size, for TYPE.MEMBER the member's byte",
	"  offset and size and, for a bitfield, its first bit (counted from the",
	"  start of the struct) and width; plain members show their offset in bits",
	"  and a BIT_SIZE of 0.  Members inside anonymous structs and unions are",
	"  found by name.  A union is named \"union TAG\" (quote it).",
	"",
	"    -a  read each member at this address (hex) and print its value,",
	"        bitfields extracted.",
	"    -j  JSON.",
	"\nEXAMPLE",
	"  The bitfields of struct fpstate (x86 FPU state), 6.1 fixture:",
	"",
	"    crash> kpmtype fpstate fpstate.xfd fpstate.is_valloc fpstate.is_guest fpstate.in_use",
	"    MEMBER                            OFFSET  SIZE  BIT_OFFSET  BIT_SIZE",
	"    fpstate                                   4160",
	"    fpstate.xfd                           24     8         192         0",
	"    fpstate.is_valloc                     32     4         256         1",
	"    fpstate.is_guest                      32     4         257         1",
	"    fpstate.in_use                        32     4         259         1",
	NULL
};

KPM_DECODER(kpmtype_decoder) = {
	.name = "kpmtype",
	.summary = "a type's layout as kpm's decoders resolve it, bitfields included",
	.synopsis = "[-a address] [-j] TYPE[.MEMBER]...",
	.posargs = "TYPE[.MEMBER]",
	.help = kpmtype_help,
	.opts = kpmtype_opts,
	.report = kpmtype_report,
};
