// SPDX-License-Identifier: GPL-2.0
/*
 * kpm-dump: kpm's decoders without crash or drgn.
 *
 *   kpm-dump -c VMCORE -s VMLINUX [-m MODULE.ko]... COMMAND [OPTIONS]
 *   kpm-dump -c VMCORE -s VMLINUX [-m MODULE.ko]... -i FILE
 *   kpm-dump help [COMMAND]
 *
 * COMMAND is any decoder of the core's registry (triage, nvmeq, kmemleak,
 * ...), with the options, help and errors the registry gives it.  -i
 * runs the commands of FILE ("-": standard input), one per line, as
 * crash -i does, on one opening of the dump and its debug info.
 *
 * The third front end on the decoder core: memory through libkdumpfile
 * (its own Linux address translation from VMCOREINFO), types from DWARF
 * through libdw (libdwfl applies a module's relocations), symbols from
 * vmlinux's symbol table shifted by VMCOREINFO's KERNELOFFSET, and from
 * each loaded module's kallsyms in the dump itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <gelf.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libkdumpfile/kdumpfile.h>
#include "target.h"
#include "kpm.h"
#include "kernel.h"
#include "dumpfile.h"
#include "snapshot.h"

#define MAX_MODSYMS	(1 << 20)

struct sym {
	uint64_t addr;
	char *name;
	size_t seq;		/* symbol-table order: among aliases, the first is named */
	int rank;		/* kallsyms' order of aliases (vmlinux only): lower first */
};

struct entry {			/* DWARF index: struct/union tags, enumerators */
	char *key;
	Dwarf_Die die;		/* the type */
	long value;		/* an enumerator's */
	int is_enum;
	struct entry *next;
};

struct dump {
	kdump_ctx_t *kd;
	Dwfl *dwfl;
	struct entry *index[1 << 16];
	struct sym *syms;	/* by address */
	size_t nsyms, cap;
	struct sym *byname;	/* the same, by name */
	const char *vmcore;
	int fd, cut;		/* cut: read, never mapped (main()) */
	int failed;		/* a read failed: reopen before the next (dump_read()) */
};

static unsigned int hash(const char *s)
{
	unsigned int h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h & 0xffff;
}

static struct entry *lookup(struct dump *d, const char *key, int is_enum)
{
	struct entry *e;

	for (e = d->index[hash(key)]; e; e = e->next)
		if (e->is_enum == is_enum && !strcmp(e->key, key))
			return e;
	return NULL;
}

static void add(struct dump *d, const char *key, Dwarf_Die *die, long value, int is_enum)
{
	struct entry *e;

	if (lookup(d, key, is_enum))
		return;		/* first complete definition wins */
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key = strdup(key);
	if (die)
		e->die = *die;
	e->value = value;
	e->is_enum = is_enum;
	e->next = d->index[hash(key)];
	d->index[hash(key)] = e;
}

/* Index the top-level struct/union definitions and enumerators of a module. */
static void index_dwarf(struct dump *d, Dwarf *dw)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf_Die cu, die, en;
	Dwarf_Attribute at;
	char key[256];

	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				int tag = dwarf_tag(&die);
				const char *name = dwarf_diename(&die);
				Dwarf_Word v;

				if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type) && name &&
				    !dwarf_hasattr(&die, DW_AT_declaration)) {
					snprintf(key, sizeof(key), "%s%s",
						 tag == DW_TAG_union_type ? "union " : "", name);
					add(d, key, &die, 0, 0);
				}
				if (tag == DW_TAG_enumeration_type && dwarf_child(&die, &en) == 0) {
					do {
						if (dwarf_diename(&en) &&
						    dwarf_attr(&en, DW_AT_const_value, &at) &&
						    dwarf_formudata(&at, &v) == 0)
							add(d, dwarf_diename(&en), NULL, (long)v, 1);
					} while (dwarf_siblingof(&en, &en) == 0);
				}
			} while (dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
}

static int index_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr base, void *arg)
{
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);

	(void)ud, (void)name, (void)base;
	if (dw)
		index_dwarf(arg, dw);
	return DWARF_CB_OK;
}

/* Strip typedefs and qualifiers. */
static int peel(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute at;
	int i;

	*out = *die;
	for (i = 0; i < 32; i++) {
		int tag = dwarf_tag(out);

		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type && tag != DW_TAG_restrict_type &&
		    tag != DW_TAG_atomic_type)
			return 0;
		if (!dwarf_attr(out, DW_AT_type, &at) || !dwarf_formref_die(&at, out))
			return -1;
	}
	return -1;
}

static long udata(Dwarf_Die *die, unsigned int name, long dflt)
{
	Dwarf_Attribute at;
	Dwarf_Word v;

	if (!dwarf_attr_integrate(die, name, &at) || dwarf_formudata(&at, &v))
		return dflt;
	return (long)v;
}

/* A member by name, also inside anonymous structs and unions: bit position and type. */
static int find_member(Dwarf_Die *type, const char *name, long base, long *bitpos, Dwarf_Die *mtype)
{
	Dwarf_Die child, t, inner;
	Dwarf_Attribute at;

	if (dwarf_child(type, &child))
		return -1;
	do {
		long pos, bsize;

		if (dwarf_tag(&child) != DW_TAG_member ||
		    !dwarf_attr(&child, DW_AT_type, &at) || !dwarf_formref_die(&at, &t))
			continue;
		pos = udata(&child, DW_AT_data_member_location, 0) * 8;
		bsize = udata(&child, DW_AT_bit_size, 0);
		if (bsize) {
			long dbo = udata(&child, DW_AT_data_bit_offset, -1);

			if (dbo >= 0) {
				pos = dbo;
			} else {	/* DWARF 2-4: counted from the storage unit's top bit */
				long bytes = udata(&child, DW_AT_byte_size, 0);

				if (!bytes && peel(&t, &inner) == 0)
					bytes = dwarf_bytesize(&inner);
				pos += bytes * 8 - udata(&child, DW_AT_bit_offset, 0) - bsize;
			}
		}
		if (dwarf_diename(&child)) {
			if (!strcmp(dwarf_diename(&child), name)) {
				*bitpos = base + pos;
				*mtype = t;
				return bsize ? (int)bsize : 0;
			}
		} else if (peel(&t, &inner) == 0) {
			int r = find_member(&inner, name, base + pos, bitpos, mtype);

			if (r >= 0)
				return r;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return -1;
}

static long type_bytes(Dwarf_Die *t)
{
	Dwarf_Word size;

	return dwarf_aggregate_size(t, &size) == 0 ? (long)size : 0;	/* [] -> 0 */
}

/* The target */

#define D(t) ((struct dump *)(t)->priv)

static int dump_reopen(struct dump *d);

/*
 * A read that fails leaves libkdumpfile's page cache one entry short
 * (cache_discard()); 0.5.1 to 0.5.4 (bookworm's and trixie's) then write
 * a page into NULL if a later read reuses a ghost entry, which exists once
 * the cache has been full (fixed upstream after 0.5.4 by e63dab4, "cache:
 * Get data buffer before adjusting ghost partition size").  One command
 * that reads more than 1,024 pages and meets a page left out of the dump
 * could reach it, and so could the commands of a batch (fuzz/dumps seed
 * 1000, 6.12 arm64 dumps), so the read after a failed one goes through a
 * new context, whose cache has no hole: a fraction of a millisecond, and
 * the core's block cache keeps what was read.
 */
static int dump_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	struct dump *d = D(t);
	size_t got = len;

	if (d->failed) {
		if (dump_reopen(d))
			return -1;
		d->failed = 0;
	}
	if (kdump_read(d->kd, KDUMP_KVADDR, addr, buf, &got) == KDUMP_OK && got == len)
		return 0;
	d->failed = 1;
	return -1;	/* the core says "page not in dump", as in crash and drgn */
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

static int cmp_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int dump_symbol(struct kpm_target *t, const char *name, uint64_t *addr)
{
	struct sym key = { .name = (char *)name }, *s;

	s = bsearch(&key, D(t)->byname, D(t)->nsyms, sizeof(key), cmp_name);
	if (!s)
		return -1;
	*addr = s->addr;
	return 0;
}

static int dump_symbol_at(struct kpm_target *t, uint64_t addr, char *name, size_t len, uint64_t *off)
{
	struct dump *d = D(t);
	size_t lo = 0, hi = d->nsyms;

	while (lo < hi) {	/* the last symbol at or below addr: kallsyms' answer */
		size_t mid = (lo + hi) / 2;

		if (d->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	/*
	 * Aliases at one address (init_module and the module's init
	 * function): the first in symbol-table order, locals before globals,
	 * which is the one the kernel's own kallsyms lookup names.
	 */
	while (lo > 1 && d->syms[lo - 2].addr == d->syms[lo - 1].addr)
		lo--;
	snprintf(name, len, "%s", d->syms[lo - 1].name);
	*off = addr - d->syms[lo - 1].addr;
	return 0;
}

static int dump_member(struct kpm_target *t, const char *type, const char *member,
		       struct kpm_layout *out)
{
	struct entry *e = lookup(D(t), type, 0);
	Dwarf_Die mt;
	long bitpos;
	int bits;

	if (!e || (bits = find_member(&e->die, member, 0, &bitpos, &mt)) < 0)
		return -1;
	out->off = bitpos / 8;
	out->size = type_bytes(&mt);
	out->bit_off = bits ? bitpos : 0;
	out->bit_size = bits;
	return 0;
}

static long dump_type_size(struct kpm_target *t, const char *type)
{
	struct entry *e = lookup(D(t), type, 0);

	return e ? type_bytes(&e->die) : -1;
}

static int dump_enum_value(struct kpm_target *t, const char *name, long *value)
{
	struct entry *e = lookup(D(t), name, 1);

	if (!e)
		return -1;
	*value = e->value;
	return 0;
}

static const struct kpm_target_ops dump_ops = {
	.read = dump_read,
	.symbol = dump_symbol,
	.member = dump_member,
	.type_size = dump_type_size,
	.enum_value = dump_enum_value,
	.symbol_at = dump_symbol_at,
};

/* Symbols */

/*
 * scripts/kallsyms.c compare_symbols() (v5.x through v6.12) orders aliases
 * of the kernel image: weak symbols last, then symbols a linker script may
 * provide (__start_X, __stop_X, __end_X, __X_start, __X_end), then by the
 * number of leading underscores; %pS names the first.  Module symbols keep
 * their symtab order (find_kallsyms_symbol() takes the first).
 */
static int kallsyms_rank(const char *name, int weak)
{
	size_t len = strlen(name);
	int lsp = 0;

	if (len >= 8 && name[0] == '_' && name[1] == '_')
		lsp = !strncmp(name + 2, "start_", 6) || !strncmp(name + 2, "stop_", 5) ||
		      !strncmp(name + 2, "end_", 4) || !strcmp(name + len - 6, "_start") ||
		      !strcmp(name + len - 4, "_end");
	return weak << 16 | lsp << 8 | (int)(strspn(name, "_") & 0xff);
}

static void add_sym(struct dump *d, uint64_t addr, const char *name, int rank)
{
	if (!addr || !name || !*name)
		return;
	if (d->nsyms == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 65536;
		struct sym *n = realloc(d->syms, cap * sizeof(*n));

		if (!n)
			return;
		d->syms = n;
		d->cap = cap;
	}
	d->syms[d->nsyms].addr = addr;
	d->syms[d->nsyms].seq = d->nsyms;
	d->syms[d->nsyms].rank = rank;
	d->syms[d->nsyms++].name = strdup(name);
}

static int load_vmlinux_syms(struct dump *d, const char *path, uint64_t offset)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym s;
	Elf_Data *data;
	size_t i, shstrndx, percpu = SHN_UNDEF;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	/*
	 * Per-CPU variables (.data..percpu) are offsets into each CPU's area,
	 * linked at 0: KASLR does not move them (kallsyms has them absolute).
	 */
	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0)
		while ((scn = elf_nextscn(elf, scn)))
			if (gelf_getshdr(scn, &sh) &&
			    !strcmp(elf_strptr(elf, shstrndx, sh.sh_name) ?: "", ".data..percpu"))
				percpu = elf_ndxscn(scn);
	scn = NULL;
	while (elf && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *name;
			int type;

			if (!gelf_getsym(data, i, &s))
				continue;
			type = GELF_ST_TYPE(s.st_info);
			if (type == STT_SECTION || type == STT_FILE || s.st_shndx == SHN_UNDEF ||
			    s.st_shndx == SHN_ABS)
				continue;
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			/*
			 * ARM and AArch64 mapping symbols ($x, $d, $x.12):
			 * nm hides them, so kallsyms, crash and %pS never name them
			 */
			if (name && name[0] != '$')
				add_sym(d, s.st_value + (s.st_shndx == percpu ? 0 : offset), name,
					kallsyms_rank(name, GELF_ST_BIND(s.st_info) == STB_WEAK));
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return 0;
}

/*
 * Each loaded module's kallsyms, from the dump: struct module.kallsyms ->
 * struct mod_kallsyms { symtab, num_symtab, strtab }.  Its st_value are
 * final addresses.
 */
enum { MK_KALLSYMS, MK_SYMTAB, MK_NUM, MK_STRTAB, MK_NR };

/* KSYM_NAME_LEN: 128 until v6.1, 512 from v6.1 (include/linux/kallsyms.h). */
#define KSYM_NAME_LEN	512

/* One module's kallsyms; returns how many names could not be read. */
static long module_syms(struct kpm_target *t, const struct kpm_member *m, uint64_t mod)
{
	uint64_t ks, symtab, num, strtab, i;
	unsigned char es[sizeof(Elf64_Sym)];
	char name[KSYM_NAME_LEN + 1];
	long lost = 0;

	if (kpm_read_member(t, mod, &m[MK_KALLSYMS], &ks) || !ks ||
	    kpm_read_member(t, ks, &m[MK_SYMTAB], &symtab) ||
	    kpm_read_member(t, ks, &m[MK_NUM], &num) ||
	    kpm_read_member(t, ks, &m[MK_STRTAB], &strtab))
		return 0;	/* this module's symbols are lost; the next may be fine */
	for (i = 0; i < num && i < MAX_MODSYMS; i++) {
		Elf64_Sym *s = (Elf64_Sym *)es;
		int type;

		if (kpm_read(t, symtab + i * sizeof(*s), es, sizeof(es), "module symtab"))
			break;
		type = ELF64_ST_TYPE(s->st_info);
		if (type == STT_SECTION || type == STT_FILE || !s->st_value)
			continue;
		/* to the NUL, a page at a time: a short name before a missing page is kept */
		if (kpm_read_string(t, strtab + s->st_name, name, sizeof(name) - 1, "module strtab") < 0) {
			lost++;
			continue;
		}
		add_sym(D(t), s->st_value, name, 0);
	}
	return lost;
}

/*
 * Each loaded module's kallsyms: the modules are the core's (kpm_modules(),
 * the same list the decoders symbolize against).
 */
static void load_module_syms(struct kpm_target *t)
{
	struct kpm_member m[MK_NR + 1] = {
		[MK_KALLSYMS] = KPM_MEMBER("module", kallsyms),
		[MK_SYMTAB] = KPM_MEMBER("mod_kallsyms", symtab),
		[MK_NUM] = KPM_MEMBER("mod_kallsyms", num_symtab),
		[MK_STRTAB] = KPM_MEMBER("mod_kallsyms", strtab),
		[MK_NR] = { NULL },
	};
	const struct kpm_module *mods;
	const char *err;
	long n, i, lost = 0;

	if (kpm_resolve(t, m))
		return;
	n = kpm_modules(t, &mods, &err);
	if (err)
		fprintf(stderr, "kpm-dump: module symbols: %s\n", err);
	for (i = 0; i < n; i++)
		lost += module_syms(t, m, mods[i].addr);
	if (lost)
		fprintf(stderr, "kpm-dump: module symbols: %ld names not in the dump\n", lost);
}

static void sort_syms(struct dump *d)
{
	qsort(d->syms, d->nsyms, sizeof(*d->syms), cmp_addr);
	d->byname = malloc(d->nsyms * sizeof(*d->byname));
	if (d->byname) {
		memcpy(d->byname, d->syms, d->nsyms * sizeof(*d->byname));
		qsort(d->byname, d->nsyms, sizeof(*d->byname), cmp_name);
	}
}

static const Dwfl_Callbacks offline = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static void usage(FILE *fp)
{
	const struct kpm_decoder *const *d;

	fprintf(fp, "usage: kpm-dump -c VMCORE -s VMLINUX [-m MODULE.ko]... COMMAND [OPTIONS]\n"
		    "       kpm-dump -c VMCORE -s VMLINUX [-m MODULE.ko]... -i FILE\n"
		    "       kpm-dump help [COMMAND]\n\n"
		    "  -i FILE  run FILE's commands (- for standard input), one per line;\n"
		    "           each is echoed as \"kpm-dump> COMMAND\" before its output,\n"
		    "           and the exit status is the worst of theirs\n\ncommands:\n");
	for (d = kpm_decoders(); *d; d++)
		fprintf(fp, "  %-10s %s\n", (*d)->name, (*d)->summary);
}

/* one command: 0, 1 (it failed) or 2 (usage) */
static int run_one(struct kpm_target *t, const struct kpm_decoder *dec, int argc, char **argv)
{
	long ret = kpm_run(t, stdout, dec, argc, argv);

	fflush(stdout);
	if (ret == -2) {
		fprintf(stderr, "%s: %s\n", dec->name, t->err);
		kpm_usage(stderr, dec, "kpm-dump ... ");
		return 2;
	}
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", dec->name, t->err);
		return 1;
	}
	return 0;
}

#define MAX_BATCH_ARGS	64

/*
 * -i FILE: a command per line, blank lines and "#" comments skipped,
 * words split at blanks.  The worst exit status of them all.
 */
/*
 * Open the dump in libkdumpfile: d->kd, or NULL with the error in @err.
 * A file cut short is read, never mapped: libkdumpfile maps whole chunks,
 * and reading mapped data past the end of the file's last page (the page
 * the cut went through) is SIGBUS.
 */
static kdump_ctx_t *dump_open(struct dump *d, const char **err)
{
	kdump_ctx_t *kd;
	int fd = open(d->vmcore, O_RDONLY);

	kd = fd < 0 ? NULL : kdump_new();
	if (!kd) {
		*err = fd < 0 ? strerror(errno) : "out of memory";
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (d->cut)
		kdump_set_number_attr(kd, KDUMP_ATTR_FILE_MMAP_POLICY, KDUMP_MMAP_NEVER);
	if (kdump_open_fd(kd, fd) != KDUMP_OK ||
	    kdump_set_string_attr(kd, KDUMP_ATTR_OSTYPE, "linux") != KDUMP_OK) {
		static char buf[KPM_ERRLEN];

		snprintf(buf, sizeof(buf), "%s", kdump_get_err(kd));
		*err = buf;
		kdump_free(kd);
		close(fd);
		return NULL;
	}
	d->fd = fd;
	return kd;
}

/*
 * A new libkdumpfile context for the dump, in place of d->kd (dump_read()).
 * Making the cache empty again in place is not an option: libaddrxlat
 * keeps pointers into it.
 */
static int dump_reopen(struct dump *d)
{
	const char *err;
	int old = d->fd;
	kdump_ctx_t *kd = dump_open(d, &err);

	if (!kd) {
		fprintf(stderr, "kpm-dump: %s: %s\n", d->vmcore, err);
		return -1;
	}
	kdump_free(d->kd);
	close(old);
	d->kd = kd;
	return 0;
}

static int run_batch(struct kpm_target *t, FILE *in)
{
	char *line = NULL, *argv[MAX_BATCH_ARGS + 1], *save, *w;
	size_t cap = 0;
	ssize_t len;
	int worst = 0, argc, ret, i;

	while ((len = getline(&line, &cap, in)) >= 0) {
		const struct kpm_decoder *dec;

		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		for (argc = 0, w = strtok_r(line, " \t\r", &save); w && argc < MAX_BATCH_ARGS;
		     w = strtok_r(NULL, " \t\r", &save))
			argv[argc++] = w;
		if (!argc || argv[0][0] == '#')
			continue;
		argv[argc] = NULL;
		printf("kpm-dump>");
		for (i = 0; i < argc; i++)
			printf(" %s", argv[i]);
		printf("\n");
		fflush(stdout);
		if (w) {
			fprintf(stderr, "kpm-dump: %s: more than %d words\n", argv[0], MAX_BATCH_ARGS);
			ret = 2;
		} else if (!(dec = kpm_decoder(argv[0]))) {
			fprintf(stderr, "kpm-dump: no command %s\n", argv[0]);
			ret = 2;
		} else {
			ret = run_one(t, dec, argc, argv);
		}
		if (ret > worst)
			worst = ret;
	}
	free(line);
	return worst;
}

/* kpm-dump help [COMMAND]: no dump needed */
static int help(int argc, char **argv)
{
	const struct kpm_decoder *d;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	d = kpm_decoder(argv[1]);
	if (!d) {
		fprintf(stderr, "kpm-dump: no command %s\n", argv[1]);
		usage(stderr);
		return 2;
	}
	kpm_help(stdout, d, "kpm-dump ... ");
	return 0;
}

int main(int argc, char **argv)
{
	static struct dump d;
	struct kpm_target t;
	const struct kpm_decoder *dec = NULL;
	const char *vmcore = NULL, *vmlinux = NULL;
	FILE *batch = NULL;
	char errbuf[KPM_ERRLEN];
	FILE *record = NULL;
	char *line = NULL;
	const char **mods = NULL;
	int nmods = 0, c, i, cut = 0;
	const char *err;
	long ret;
	uint64_t kaslr = 0;

	if (argc > 1 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
			 !strcmp(argv[1], "-h")))
		return help(argc - 1, argv + 1);
	while ((c = getopt(argc, argv, "+c:s:m:i:h")) != -1) {
		switch (c) {
		case 'c': vmcore = optarg; break;
		case 'i':
			batch = strcmp(optarg, "-") ? fopen(optarg, "r") : stdin;
			if (!batch) {
				fprintf(stderr, "kpm-dump: %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		case 's': vmlinux = optarg; break;
		case 'm':
			mods = realloc(mods, (nmods + 1) * sizeof(*mods));
			if (!mods) {
				fprintf(stderr, "kpm-dump: out of memory\n");
				return 1;
			}
			mods[nmods++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "help"))
		return help(argc - optind, argv + optind);
	if (!vmcore || !vmlinux || (optind >= argc) == !batch) {
		usage(stderr);
		return 2;
	}
	if (!batch && !(dec = kpm_decoder(argv[optind]))) {
		fprintf(stderr, "kpm-dump: no command %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* libkdumpfile trusts the file: check its structure first */
	switch (kpm_dumpfile_check(vmcore, errbuf, sizeof(errbuf))) {
	case 0:
		break;
	case 1:
	case 2:
		fprintf(stderr, "kpm-dump: %s: warning: %s\n", vmcore, errbuf);
		cut = 1;
		break;
	default:
		fprintf(stderr, "kpm-dump: %s: %s\n", vmcore, errbuf);
		return 1;
	}
	d.vmcore = vmcore;
	d.cut = cut;
	d.kd = dump_open(&d, &err);
	if (!d.kd) {
		fprintf(stderr, "kpm-dump: %s: %s\n", vmcore, err);
		return 1;
	}
	/*
	 * libkdumpfile's own page cache (1024 entries, searched linearly)
	 * costs more than it saves behind kpm_read()'s block cache: with 64
	 * entries the million-object bench decodes in 1.24 s of CPU instead of
	 * 1.95 s.  It stays at its default: after reads of excluded pages,
	 * 0.5.1 with 64 entries fails to decompress pages that are in the dump
	 * ("Decompresion failed: error -2"; tests/test_hostile.py).
	 */
	if (kdump_vmcoreinfo_line(d.kd, "KERNELOFFSET", &line) == KDUMP_OK && line)
		kaslr = strtoull(line, NULL, 16);

	d.dwfl = dwfl_begin(&offline);
	if (!d.dwfl || !dwfl_report_offline(d.dwfl, "vmlinux", vmlinux, -1)) {
		fprintf(stderr, "kpm-dump: %s: %s\n", vmlinux, dwfl_errmsg(-1));
		return 1;
	}
	for (i = 0; i < nmods; i++)
		if (!dwfl_report_offline(d.dwfl, mods[i], mods[i], -1))
			fprintf(stderr, "kpm-dump: %s: %s\n", mods[i], dwfl_errmsg(-1));
	dwfl_report_end(d.dwfl, NULL, NULL);
	dwfl_getmodules(d.dwfl, index_module, &d, 0);

	kpm_target_init(&t, &dump_ops, &d);
	{
		const char *arch;

		if (kdump_get_string_attr(d.kd, KDUMP_ATTR_ARCH_NAME, &arch) == KDUMP_OK)
			kpm_target_set_arch(&t, arch);
	}
	load_vmlinux_syms(&d, vmlinux, kaslr);
	sort_syms(&d);
	load_module_syms(&t);
	free(d.byname);
	sort_syms(&d);

	/* KPM_RECORD=FILE: a snapshot of what the decoders read (fuzz/) */
	if (getenv("KPM_RECORD")) {
		record = fopen(getenv("KPM_RECORD"), "w");
		if (!record || kpm_record_begin(&t, record)) {
			fprintf(stderr, "kpm-dump: %s: cannot record\n", getenv("KPM_RECORD"));
			return 1;
		}
		/* what the core cached (the module list) is read again, recorded */
		kpm_target_done(&t);
	}
	/* after the recording's kpm_target_done(), which frees it */
	kpm_target_set_eraseinfo(&t, kpm_dumpfile_eraseinfo(vmcore));

	argv += optind;
	argc -= optind;
	/*
	 * A report of a million objects is a gigabyte: written a st_blksize
	 * (4 KiB) buffer at a time, that is 300,000 write()s.
	 */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 18);
	ret = batch ? run_batch(&t, batch) : run_one(&t, dec, argc, argv);
	if (record) {
		kpm_record_end(&t);
		fclose(record);
	}
	kpm_target_done(&t);
	free(mods);
	return ret;
}
