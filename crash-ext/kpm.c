// SPDX-License-Identifier: GPL-2.0
/*
 * kpm.so: kpm's crash front end.  `extend kpm.so` adds one command per
 * decoder in the core's registry (../core), with its help text and options
 * from the decoder's descriptor; `kpm` runs the triage.  The decoders reach
 * the dump only through the target below.
 */
#define _GNU_SOURCE	/* fopencookie() */
#include <ctype.h>
#include "defs.h"
#include "target.h"
#include "kpm.h"
#include "dumpfile.h"

/* The target: crash's own readmem, symbol table and gdb's type info. */

static int crash_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	(void)t;
	return readmem(addr, KVADDR, buf, len, "kpm", RETURN_ON_ERROR | QUIET) ? 0 : -1;
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

/*
 * What gdb's "ptype /o" says of a struct: every member at the top level
 * or inside anonymous structs and unions, with its offset and, for a
 * bitfield, bit position and width.  MEMBER_OFFSET and MEMBER_SIZE cannot
 * tell a bitfield from a plain member (they give the storage unit), so
 * each type a command uses is read this way once per command.
 */
struct ptype_member {
	char name[64];
	long byte, bit, size, width;	/* bit, width: -1, 0 when not a bitfield */
	int depth;
};

struct ptype_cache {
	char type[128];
	struct ptype_member *m;
	int n;
	struct ptype_cache *next;
};

struct crash_priv {
	struct ptype_cache *types;
};

static void ptype_add(struct ptype_cache *c, const struct ptype_member *pm)
{
	struct ptype_member *n;

	if (c->n % 64 == 0) {
		n = realloc(c->m, (c->n + 64) * sizeof(*n));
		if (!n)
			return;
		c->m = n;
	}
	c->m[c->n++] = *pm;
}

/*
 * One line of ptype /o:
 *   / *     24: 1   |       4 * /    unsigned int is_guest : 1;
 *   / *      8      |       8 * /    struct list_head *next;
 *   / *      8      |      24 * /    struct tuv {          (a nested type)
 *                                  } name;                 (its end)
 */
static void ptype_line(struct ptype_cache *c, char *line, int *depth, int *start)
{
	struct ptype_member pm;
	char *decl, *colon, *p, *q;
	long byte, bit = -1, size;
	int k;

	memset(&pm, 0, sizeof(pm));
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '}') {
		/* end of a nested type: an anonymous one's members belong to us */
		for (q = p + 1; *q == ' '; q++)
			;
		if (*depth > 0) {
			if (*q == ';') {
				for (k = start[*depth]; k < c->n; k++)
					c->m[k].depth = *depth - 1;
			} else {
				c->n = start[*depth];	/* a named member's members are not ours */
			}
			(*depth)--;
		}
		return;
	}
	decl = strstr(line, "*/");
	if (strncmp(p, "/*", 2) || !decl)
		return;
	if (sscanf(p + 2, " %ld: %ld |", &byte, &bit) != 2) {
		bit = -1;
		if (sscanf(p + 2, " %ld | %ld", &byte, &size) != 2)
			byte = -1;	/* a union member: no offset column */
	}
	q = strchr(p, '|');
	if (!q || sscanf(q + 1, " %ld", &size) != 1)
		size = -1;
	decl += 2;
	k = strlen(decl);
	while (k && (decl[k - 1] == '\n' || decl[k - 1] == ' '))
		decl[--k] = 0;
	if (k && decl[k - 1] == '{') {
		if (*depth < 31) {
			(*depth)++;
			start[*depth] = c->n;
		}
		return;
	}
	if (!k || decl[k - 1] != ';')
		return;
	decl[--k] = 0;
	colon = strrchr(decl, ':');
	if (colon && bit >= 0) {
		pm.width = strtol(colon + 1, NULL, 10);
		*colon = 0;
	}
	/* the name: the last identifier of the declaration (arrays: before '[') */
	if ((p = strchr(decl, '[')))
		*p = 0;
	k = strlen(decl);
	while (k && decl[k - 1] == ' ')
		decl[--k] = 0;
	for (p = decl + k; p > decl && (isalnum((unsigned char)p[-1]) || p[-1] == '_'); p--)
		;
	if (!*p || byte < 0)
		return;
	snprintf(pm.name, sizeof(pm.name), "%s", p);
	pm.byte = byte;
	pm.bit = bit;
	pm.size = size;
	pm.depth = *depth;
	ptype_add(c, &pm);
}

static struct ptype_cache *ptype(struct kpm_target *t, const char *type)
{
	struct crash_priv *cp = t->priv;
	struct ptype_cache *c;
	char cmd[BUFSIZE], line[BUFSIZE];
	int depth = 0, start[32] = { 0 };

	for (c = cp->types; c; c = c->next)
		if (!strcmp(c->type, type))
			return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->type, sizeof(c->type), "%s", type);
	c->next = cp->types;
	cp->types = c;
	snprintf(cmd, sizeof(cmd), "ptype /o %s %s",
		 strncmp(type, "union ", 6) ? "struct" : "union", tag(type));
	open_tmpfile();
	if (gdb_pass_through(cmd, pc->tmpfile, GNU_RETURN_ON_ERROR)) {
		rewind(pc->tmpfile);
		/* the first line opens the type itself */
		if (fgets(line, sizeof(line), pc->tmpfile))
			while (fgets(line, sizeof(line), pc->tmpfile))
				ptype_line(c, line, &depth, start);
	}
	close_tmpfile();
	return c;
}

static const struct ptype_member *ptype_member(struct kpm_target *t, const char *type,
					       const char *member)
{
	struct ptype_cache *c = ptype(t, type);
	int i;

	for (i = 0; c && i < c->n; i++)
		if (c->m[i].depth == 0 && !strcmp(c->m[i].name, member))
			return &c->m[i];
	return NULL;
}

static int crash_member(struct kpm_target *t, const char *type, const char *member,
			struct kpm_layout *out)
{
	const struct ptype_member *pm = ptype_member(t, type, member);
	long off = MEMBER_OFFSET(tag(type), (char *)member);
	long size = MEMBER_SIZE(tag(type), (char *)member);

	if (pm && pm->bit >= 0) {
		out->bit_off = pm->byte * 8 + pm->bit;
		out->bit_size = pm->width;
		out->off = out->bit_off / 8;
		out->size = pm->size > 0 ? pm->size : size;
		return 0;
	}
	if (off < 0 || size < 0) {
		/* inside an anonymous struct or union: gdb's own offsets */
		if (!pm)
			return -1;
		off = pm->byte;
		size = pm->size;
	}
	out->off = off;
	out->size = size;
	return 0;
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

static const struct kpm_target_ops crash_ops = {
	.read = crash_read,
	.symbol = crash_symbol,
	.member = crash_member,
	.type_size = crash_type_size,
	.enum_value = crash_enum_value,
	.symbol_at = crash_symbol_at,
};

static void crash_target_done(struct kpm_target *t, struct crash_priv *cp)
{
	struct ptype_cache *c, *n;

	for (c = cp->types; c; c = n) {
		n = c->next;
		free(c->m);
		free(c);
	}
	kpm_target_done(t);
}

/* The crash command name of a decoder: the triage is `kpm`. */
static const char *crash_name(const struct kpm_decoder *d)
{
	return strcmp(d->name, "triage") ? d->name : "kpm";
}

/* A buffered stream onto crash's fp (see cmd_kpm_decoder()). */
static ssize_t crash_out_write(void *cookie, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, cookie);
}

/* Every command: the decoder is the one whose crash name crash called. */
static void cmd_kpm_decoder(void)
{
	const struct kpm_decoder *const *dp;
	const struct kpm_decoder *d = NULL;
	struct crash_priv cp = { NULL };
	struct kpm_target t;
	cookie_io_functions_t io = { .write = crash_out_write };
	FILE *out;
	long ret;

	for (dp = kpm_decoders(); *dp; dp++)
		if (!strcmp(crash_name(*dp), pc->curcmd))
			d = *dp;
	if (!d)
		error(FATAL, "no kpm decoder named %s\n", pc->curcmd);
	kpm_target_init(&t, &crash_ops, &cp);
	/* a dump makedumpfile filtered: what it erased is reported as erased */
	if (DUMPFILE() && pc->dumpfile)
		kpm_target_set_eraseinfo(&t, kpm_dumpfile_eraseinfo(pc->dumpfile));
	/* crash is built for one machine type: "X86_64", "ARM64" */
	kpm_target_set_arch(&t, MACHINE_TYPE);
	/*
	 * crash's fp is unbuffered: a report written straight to it costs a
	 * write() per character.  Write through a 64 KiB buffer that hands
	 * crash a chunk at a time (a report held whole in memory took 2.4 GB
	 * for a million kmemleak objects); unbuffered if it cannot be made.
	 */
	out = fopencookie(fp, "w", io);
	if (out)
		setvbuf(out, NULL, _IOFBF, 1 << 16);
	ret = kpm_run(&t, out ? out : fp, d, argcnt, args);
	if (out)
		fclose(out);
	if (ret == -2) {
		/* the core's words, then crash's usage */
		error(INFO, "%s\n", t.err);
		crash_target_done(&t, &cp);
		cmd_usage(pc->curcmd, SYNOPSIS);
		return;
	}
	if (ret < 0)
		error(INFO, "%s\n", t.err);
	crash_target_done(&t, &cp);
}

static struct command_table_entry *command_table;

void __attribute__((constructor)) kpm_init(void)
{
	const struct kpm_decoder *const *d = kpm_decoders();
	int n = 0, i;

	while (d[n])
		n++;
	command_table = calloc(n + 1, sizeof(*command_table));
	if (!command_table)
		return;
	for (i = 0; i < n; i++) {
		command_table[i].name = (char *)crash_name(d[i]);
		command_table[i].func = cmd_kpm_decoder;
		command_table[i].help_data = kpm_crash_help(d[i]);
		if (command_table[i].help_data)
			command_table[i].help_data[0] = command_table[i].name;
	}
	register_extension(command_table);
}

void __attribute__((destructor)) kpm_fini(void)
{
}
