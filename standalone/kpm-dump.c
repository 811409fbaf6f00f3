// SPDX-License-Identifier: GPL-2.0
/*
 * kpm-dump: kpm's decoders without crash or drgn.
 *
 *   kpm-dump -c VMCORE -s VMLINUX [-m MODULE.ko]... nvmeq [-c|-C] [-s] [-j]
 *   kpm-dump -c VMCORE -s VMLINUX [-m MODULE.ko]... kmemleak [options]
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
#include "nvme.h"
#include "kmemleak.h"

#define MAX_MODULES	1024
#define MAX_MODSYMS	(1 << 20)

struct sym {
	uint64_t addr;
	char *name;
	size_t seq;		/* symbol-table order: among aliases, the first is named */
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

static int dump_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	size_t got = len;

	if (kdump_read(D(t)->kd, KDUMP_KVADDR, addr, buf, &got) == KDUMP_OK && got == len)
		return 0;
	kpm_errf(t, "%s", kdump_get_err(D(t)->kd));
	return -1;
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

static int dump_member(struct kpm_target *t, const char *type, const char *member, long *off, long *size)
{
	struct entry *e = lookup(D(t), type, 0);
	Dwarf_Die mt;
	long bitpos;

	if (!e || find_member(&e->die, member, 0, &bitpos, &mt) < 0)
		return -1;
	*off = bitpos / 8;
	*size = type_bytes(&mt);
	return 0;
}

static int dump_member_bits(struct kpm_target *t, const char *type, const char *member,
			    long *bit_off, long *bit_size)
{
	struct entry *e = lookup(D(t), type, 0);
	Dwarf_Die mt;
	int bits;

	if (!e || (bits = find_member(&e->die, member, 0, bit_off, &mt)) < 0)
		return -1;
	*bit_size = bits ? bits : type_bytes(&mt) * 8;
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

static int dump_percpu_offset(struct kpm_target *t, int cpu, uint64_t *off)
{
	uint64_t base;

	if (dump_symbol(t, "__per_cpu_offset", &base))
		return -1;
	return kpm_read_u64(t, base + 8 * (uint64_t)cpu, off, "__per_cpu_offset");
}

static const struct kpm_target_ops dump_ops = {
	.read = dump_read,
	.symbol = dump_symbol,
	.member = dump_member,
	.member_bits = dump_member_bits,
	.type_size = dump_type_size,
	.enum_value = dump_enum_value,
	.percpu_offset = dump_percpu_offset,
	.symbol_at = dump_symbol_at,
};

/* Symbols */

static void add_sym(struct dump *d, uint64_t addr, const char *name)
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
	size_t i;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			int type;

			if (!gelf_getsym(data, i, &s))
				continue;
			type = GELF_ST_TYPE(s.st_info);
			if (type == STT_SECTION || type == STT_FILE || s.st_shndx == SHN_UNDEF ||
			    s.st_shndx == SHN_ABS)
				continue;
			add_sym(d, s.st_value + offset, elf_strptr(elf, sh.sh_link, s.st_name));
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
enum { MK_LIST, MK_KALLSYMS, MK_SYMTAB, MK_NUM, MK_STRTAB, MK_NEXT, MK_NR };

struct modsyms {
	struct dump *d;
	struct kpm_member m[MK_NR + 1];
};

static int module_syms(struct kpm_target *t, uint64_t node, void *arg)
{
	struct modsyms *ms = arg;
	uint64_t mod = node - ms->m[MK_LIST].off, ks, symtab, num, strtab, i;
	unsigned char es[sizeof(Elf64_Sym)];
	char name[128];

	if (kpm_read_member(t, mod, &ms->m[MK_KALLSYMS], &ks) || !ks ||
	    kpm_read_member(t, ks, &ms->m[MK_SYMTAB], &symtab) ||
	    kpm_read_member(t, ks, &ms->m[MK_NUM], &num) ||
	    kpm_read_member(t, ks, &ms->m[MK_STRTAB], &strtab))
		return 0;	/* this module's symbols are lost; the next may be fine */
	for (i = 0; i < num && i < MAX_MODSYMS; i++) {
		Elf64_Sym *s = (Elf64_Sym *)es;
		int type;

		if (kpm_read(t, symtab + i * sizeof(*s), es, sizeof(es), "module symtab"))
			break;
		type = ELF64_ST_TYPE(s->st_info);
		if (type == STT_SECTION || type == STT_FILE || !s->st_value)
			continue;
		if (kpm_read(t, strtab + s->st_name, name, sizeof(name) - 1, "module strtab"))
			continue;
		name[sizeof(name) - 1] = 0;
		add_sym(ms->d, s->st_value, name);
	}
	return 0;
}

static void load_module_syms(struct kpm_target *t)
{
	struct modsyms ms = { D(t), {
		[MK_LIST] = KPM_MEMBER("module", list),
		[MK_KALLSYMS] = KPM_MEMBER("module", kallsyms),
		[MK_SYMTAB] = KPM_MEMBER("mod_kallsyms", symtab),
		[MK_NUM] = KPM_MEMBER("mod_kallsyms", num_symtab),
		[MK_STRTAB] = KPM_MEMBER("mod_kallsyms", strtab),
		[MK_NEXT] = KPM_MEMBER("list_head", next),
		[MK_NR] = { NULL },
	} };
	uint64_t head;

	if (kpm_resolve(t, ms.m) || dump_symbol(t, "modules", &head))
		return;
	kpm_list_walk(t, head, ms.m[MK_NEXT].off, MAX_MODULES, module_syms, &ms);
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

static void usage(void)
{
	fprintf(stderr,
		"usage: kpm-dump -c VMCORE -s VMLINUX [-m MODULE.ko]... COMMAND [OPTIONS]\n"
		"  nvmeq [-c|-C] [-s] [-j]\n"
		"  kmemleak [-p] [-l] [-c comm] [-s minsize] [-a address] [-x] [-j] [-S]\n");
	exit(2);
}

static int cmd_nvmeq(struct kpm_target *t, int argc, char **argv)
{
	unsigned int flags = 0;
	int c;

	while ((c = getopt(argc, argv, "cCsj")) != -1) {
		switch (c) {
		case 'c': flags |= KPM_NVME_CQES; break;
		case 'C': flags |= KPM_NVME_ALLCQ; break;
		case 's': flags |= KPM_NVME_SQES; break;
		case 'j': flags |= KPM_NVME_JSON; break;
		default: usage();
		}
	}
	return kpm_nvme_report(t, stdout, flags) < 0 ? -1 : 0;
}

static int cmd_kmemleak(struct kpm_target *t, int argc, char **argv)
{
	struct kpm_kmemleak_filter f = { 0 };
	int c;

	while ((c = getopt(argc, argv, "plc:s:a:xjS")) != -1) {
		switch (c) {
		case 'p': f.flags |= KPM_KML_PERCPU; break;
		case 'l': f.flags |= KPM_KML_LEAKS; break;
		case 'c': f.flags |= KPM_KML_COMM; f.comm = optarg; break;
		case 's': f.flags |= KPM_KML_MINSIZE; f.min_size = strtoull(optarg, NULL, 0); break;
		case 'a': f.flags |= KPM_KML_ADDR; f.addr = strtoull(optarg, NULL, 16); break;
		case 'x': f.flags |= KPM_KML_HEX; break;
		case 'j': f.flags |= KPM_KML_JSON; break;
		case 'S': f.flags |= KPM_KML_SUMMARY; break;
		default: usage();
		}
	}
	return kpm_kmemleak_report(t, stdout, &f) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct dump d;
	struct kpm_target t = { .ops = &dump_ops, .priv = &d };
	const char *vmcore = NULL, *vmlinux = NULL;
	char *line = NULL;
	const char *mods[64];
	int nmods = 0, c, fd, i, ret;
	uint64_t kaslr = 0;

	while ((c = getopt(argc, argv, "+c:s:m:")) != -1) {
		switch (c) {
		case 'c': vmcore = optarg; break;
		case 's': vmlinux = optarg; break;
		case 'm': if (nmods < 64) mods[nmods++] = optarg; break;
		default: usage();
		}
	}
	if (!vmcore || !vmlinux || optind >= argc)
		usage();

	fd = open(vmcore, O_RDONLY);
	d.kd = kdump_new();
	if (fd < 0 || !d.kd || kdump_open_fd(d.kd, fd) != KDUMP_OK ||
	    kdump_set_string_attr(d.kd, KDUMP_ATTR_OSTYPE, "linux") != KDUMP_OK) {
		fprintf(stderr, "kpm-dump: %s: %s\n", vmcore,
			fd < 0 ? strerror(errno) : d.kd ? kdump_get_err(d.kd) : "out of memory");
		return 1;
	}
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

	load_vmlinux_syms(&d, vmlinux, kaslr);
	sort_syms(&d);
	load_module_syms(&t);
	free(d.byname);
	sort_syms(&d);

	/* The command and its own options: getopt starts over (optind = 0). */
	argv += optind;
	argc -= optind;
	optind = 0;
	if (!strcmp(argv[0], "nvmeq"))
		ret = cmd_nvmeq(&t, argc, argv);
	else if (!strcmp(argv[0], "kmemleak"))
		ret = cmd_kmemleak(&t, argc, argv);
	else
		usage();
	if (ret)
		fprintf(stderr, "%s: %s\n", argv[0], t.err);
	return ret ? 1 : 0;
}
