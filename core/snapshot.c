// SPDX-License-Identifier: GPL-2.0
/* kpm: snapshot targets (see snapshot.h). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "snapshot.h"

#define PAGE		KPM_SNAP_PAGE
#define PAGE_MASK	(~(uint64_t)(PAGE - 1))

/* Recording */

struct rec {
	const struct kpm_target_ops *ops;
	void *priv;
	FILE *out;
	uint64_t *pages;	/* open addressing set of recorded pages, 0 free */
	size_t cap, n;
};

static const struct kpm_target_ops rec_ops;

#define CALL_REAL(t, r, expr) ({					\
	__typeof__(expr) _ret;						\
	(t)->ops = (r)->ops;						\
	(t)->priv = (r)->priv;						\
	_ret = (expr);							\
	(t)->ops = &rec_ops;						\
	(t)->priv = (r);						\
	_ret;								\
})

static int page_seen(struct rec *r, uint64_t page)
{
	size_t i;

	if (2 * (r->n + 1) > r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 1024, j;
		uint64_t *n = calloc(cap, sizeof(*n));

		if (!n)
			return 1;
		for (j = 0; j < r->cap; j++)
			if (r->pages[j]) {
				for (i = (r->pages[j] >> 12) % cap; n[i]; i = (i + 1) % cap)
					;
				n[i] = r->pages[j];
			}
		free(r->pages);
		r->pages = n;
		r->cap = cap;
	}
	for (i = (page >> 12) % r->cap; r->pages[i]; i = (i + 1) % r->cap)
		if (r->pages[i] == page)
			return 1;
	r->pages[i] = page;
	r->n++;
	return 0;
}

static int rec_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	struct rec *r = t->priv;
	unsigned char page[PAGE];
	uint64_t p;

	for (p = addr & PAGE_MASK; len && p <= ((addr + len - 1) & PAGE_MASK); p += PAGE) {
		int ok;

		if (page_seen(r, p))
			continue;
		ok = !CALL_REAL(t, r, t->ops->read(t, p, page, PAGE));
		fprintf(r->out, "P %#" PRIx64 " %d\n", p, ok);
		if (ok)
			fwrite(page, 1, PAGE, r->out);
		fputc('\n', r->out);
		if (p + PAGE < p)
			break;
	}
	return CALL_REAL(t, r, t->ops->read(t, addr, buf, len));
}

static int rec_symbol(struct kpm_target *t, const char *name, uint64_t *addr)
{
	struct rec *r = t->priv;
	int ret = CALL_REAL(t, r, t->ops->symbol(t, name, addr));

	if (ret)
		fprintf(r->out, "S %s -\n", name);
	else
		fprintf(r->out, "S %s %#" PRIx64 "\n", name, *addr);
	return ret;
}

/* types are "nvme_queue" or "union fpregs_state": spaces become '+' */
static void put_name(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(*s == ' ' ? '+' : *s, out);
}

static int rec_member(struct kpm_target *t, const char *type, const char *member,
		      struct kpm_layout *out)
{
	struct rec *r = t->priv;
	int ret = CALL_REAL(t, r, t->ops->member(t, type, member, out));

	fputs("M ", r->out);
	put_name(r->out, type);
	fprintf(r->out, " %s ", member);
	if (ret < 0)
		fprintf(r->out, "-\n");
	else
		fprintf(r->out, "%ld %ld %ld %ld\n", out->off, out->size, out->bit_off, out->bit_size);
	return ret;
}

static long rec_type_size(struct kpm_target *t, const char *type)
{
	struct rec *r = t->priv;
	long ret = CALL_REAL(t, r, t->ops->type_size(t, type));

	fputs("T ", r->out);
	put_name(r->out, type);
	fprintf(r->out, " %ld\n", ret);
	return ret;
}

static int rec_enum_value(struct kpm_target *t, const char *name, long *value)
{
	struct rec *r = t->priv;
	int ret = CALL_REAL(t, r, t->ops->enum_value(t, name, value));

	if (ret)
		fprintf(r->out, "E %s -\n", name);
	else
		fprintf(r->out, "E %s %ld\n", name, *value);
	return ret;
}

static int rec_symbol_at(struct kpm_target *t, uint64_t addr, char *name, size_t len,
			 uint64_t *offset)
{
	struct rec *r = t->priv;
	int ret = CALL_REAL(t, r, t->ops->symbol_at(t, addr, name, len, offset));

	if (ret || !name[0] || strchr(name, ' ') || strchr(name, '\n'))
		fprintf(r->out, "Y %#" PRIx64 " -\n", addr);
	else
		fprintf(r->out, "Y %#" PRIx64 " %s %#" PRIx64 "\n", addr, name, *offset);
	return ret;
}

static const struct kpm_target_ops rec_ops = {
	.read = rec_read,
	.symbol = rec_symbol,
	.member = rec_member,
	.type_size = rec_type_size,
	.enum_value = rec_enum_value,
	.symbol_at = rec_symbol_at,
};

int kpm_record_begin(struct kpm_target *t, FILE *out)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->ops = t->ops;
	r->priv = t->priv;
	r->out = out;
	fprintf(out, "A %s\n", kpm_arch_name(t));
	t->ops = &rec_ops;
	t->priv = r;
	return 0;
}

void kpm_record_end(struct kpm_target *t)
{
	struct rec *r = t->priv;

	if (t->ops != &rec_ops)
		return;
	t->ops = r->ops;
	t->priv = r->priv;
	fflush(r->out);
	free(r->pages);
	free(r);
}

/* Replay */

struct key {
	char *a, *b;		/* name, or type and member */
	int found;
	long v[4];
	uint64_t addr;
};

struct spage {
	uint64_t addr;
	int present;
	unsigned char *data;
};

struct kpm_snapshot {
	char arch[16];
	struct key *sym, *mem, *typ, *enm, *sat;
	long nsym, nmem, ntyp, nenm, nsat;
	struct spage *pg;
	long npg;
	unsigned char *bytes;	/* all pages' data */
};

static struct key *add_key(struct key **arr, long *n)
{
	struct key *k;

	if (!(*n & (*n - 1)) || !*arr) {
		long cap = *n ? 2 * *n : 16;
		struct key *m = realloc(*arr, cap * sizeof(*m));

		if (!m)
			return NULL;
		*arr = m;
	}
	k = &(*arr)[(*n)++];
	memset(k, 0, sizeof(*k));
	return k;
}

static void unplus(char *s)
{
	for (; *s; s++)
		if (*s == '+')
			*s = ' ';
}

static int cmp_key(const void *x, const void *y)
{
	const struct key *p = x, *q = y;
	int c = strcmp(p->a, q->a);

	if (c || !p->b || !q->b)
		return c;
	return strcmp(p->b, q->b);
}

static int cmp_sat(const void *x, const void *y)
{
	const struct key *p = x, *q = y;

	return p->addr < q->addr ? -1 : p->addr > q->addr;
}

static int cmp_page(const void *a, const void *b)
{
	const struct spage *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void kpm_snapshot_free(struct kpm_snapshot *s)
{
	struct key *arrs[] = { s ? s->sym : NULL, s ? s->mem : NULL, s ? s->typ : NULL,
			       s ? s->enm : NULL, s ? s->sat : NULL };
	long ns[] = { s ? s->nsym : 0, s ? s->nmem : 0, s ? s->ntyp : 0, s ? s->nenm : 0,
		      s ? s->nsat : 0 };
	unsigned int i;
	long j;

	if (!s)
		return;
	for (i = 0; i < 5; i++) {
		for (j = 0; j < ns[i]; j++) {
			free(arrs[i][j].a);
			free(arrs[i][j].b);
		}
		free(arrs[i]);
	}
	free(s->pg);
	free(s->bytes);
	free(s);
}

struct kpm_snapshot *kpm_snapshot_load(const char *path, char *err, size_t errlen)
{
	struct kpm_snapshot *s = calloc(1, sizeof(*s));
	FILE *f = fopen(path, "r");
	char line[512], a[256], b[256], c[64];
	long pcap = 0, npresent = 0, i;
	unsigned char **data = NULL;

	if (!s || !f) {
		snprintf(err, errlen, "%s: cannot open", path);
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		struct key *k = NULL;
		unsigned long long v;
		long l[4];
		int ok;

		switch (line[0]) {
		case 'A':
			sscanf(line, "A %15s", s->arch);
			break;
		case 'S':
			if (sscanf(line, "S %255s %63s", a, c) != 2 || !(k = add_key(&s->sym, &s->nsym)))
				goto bad;
			k->a = strdup(a);
			k->found = c[0] != '-';
			k->addr = strtoull(c, NULL, 0);
			break;
		case 'M':
			if (sscanf(line, "M %255s %255s %63[^\n]", a, b, c) != 3 || !(k = add_key(&s->mem, &s->nmem)))
				goto bad;
			unplus(a);
			k->a = strdup(a);
			k->b = strdup(b);
			k->found = sscanf(c, "%ld %ld %ld %ld", &l[0], &l[1], &l[2], &l[3]) == 4;
			memcpy(k->v, l, sizeof(l));
			break;
		case 'T':
			if (sscanf(line, "T %255s %ld", a, &l[0]) != 2 || !(k = add_key(&s->typ, &s->ntyp)))
				goto bad;
			unplus(a);
			k->a = strdup(a);
			k->v[0] = l[0];
			break;
		case 'E':
			if (sscanf(line, "E %255s %63s", a, c) != 2 || !(k = add_key(&s->enm, &s->nenm)))
				goto bad;
			k->a = strdup(a);
			k->found = c[0] != '-';
			k->v[0] = strtol(c, NULL, 0);
			break;
		case 'Y':
			ok = sscanf(line, "Y %llx %255s %63s", &v, a, c);
			if (ok < 2 || !(k = add_key(&s->sat, &s->nsat)))
				goto bad;
			k->addr = v;
			k->found = ok == 3;
			k->a = strdup(ok == 3 ? a : "");
			k->v[0] = ok == 3 ? (long)strtoull(c, NULL, 0) : 0;
			break;
		case 'P':
			if (sscanf(line, "P %llx %d", &v, &ok) != 2)
				goto bad;
			if (s->npg == pcap) {
				pcap = pcap ? 2 * pcap : 1024;
				s->pg = realloc(s->pg, pcap * sizeof(*s->pg));
				data = realloc(data, pcap * sizeof(*data));
				if (!s->pg || !data)
					goto bad;
			}
			s->pg[s->npg].addr = v;
			s->pg[s->npg].present = ok;
			data[s->npg] = NULL;
			if (ok) {
				data[s->npg] = malloc(PAGE);
				if (!data[s->npg] || fread(data[s->npg], 1, PAGE, f) != PAGE)
					goto bad;
				npresent++;
			}
			s->npg++;
			if (fgetc(f) != '\n')
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	fclose(f);
	f = NULL;
	/* one block of page data; every page gets room, present or not */
	s->bytes = calloc(s->npg ? s->npg : 1, PAGE);
	if (!s->bytes)
		goto bad;
	for (i = 0; i < s->npg; i++) {
		s->pg[i].data = s->bytes + i * PAGE;
		if (data[i])
			memcpy(s->pg[i].data, data[i], PAGE);
		free(data[i]);
	}
	free(data);
	data = NULL;
	if (s->npg)
		qsort(s->pg, s->npg, sizeof(*s->pg), cmp_page);
	/* the same question asked twice was recorded twice: same answer */
	if (s->nsym)
		qsort(s->sym, s->nsym, sizeof(*s->sym), cmp_key);
	if (s->nmem)
		qsort(s->mem, s->nmem, sizeof(*s->mem), cmp_key);
	if (s->ntyp)
		qsort(s->typ, s->ntyp, sizeof(*s->typ), cmp_key);
	if (s->nenm)
		qsort(s->enm, s->nenm, sizeof(*s->enm), cmp_key);
	/* a kmemleak report asks for 30,000 addresses: searched, not scanned */
	if (s->nsat)
		qsort(s->sat, s->nsat, sizeof(*s->sat), cmp_sat);
	(void)npresent;
	return s;
bad:
	snprintf(err, errlen, "%s: not a kpm snapshot (at: %.60s)", path, line);
fail:
	if (f)
		fclose(f);
	if (data) {
		for (i = 0; i < s->npg; i++)
			free(data[i]);
		free(data);
	}
	if (s)
		s->npg = 0;
	kpm_snapshot_free(s);
	return NULL;
}

#define SNAP(t) ((struct kpm_snapshot *)(t)->priv)

static struct spage *find_page(struct kpm_snapshot *s, uint64_t addr)
{
	long lo = 0, hi = s->npg - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (s->pg[mid].addr == addr)
			return &s->pg[mid];
		if (s->pg[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static int snap_read(struct kpm_target *t, uint64_t addr, void *buf, size_t len)
{
	struct kpm_snapshot *s = SNAP(t);
	size_t done = 0;

	while (done < len) {
		uint64_t a = addr + done;
		struct spage *p = find_page(s, a & PAGE_MASK);
		size_t off = a & (PAGE - 1), n = PAGE - off;

		if (!p || !p->present)
			return -1;
		if (n > len - done)
			n = len - done;
		memcpy((char *)buf + done, p->data + off, n);
		done += n;
	}
	return 0;
}

/* keys are sorted at load (kpm_snapshot_load): a binary search */
static struct key *find_key(struct key *arr, long n, const char *a, const char *b)
{
	struct key k = { (char *)a, (char *)b, 0, { 0 }, 0 };

	return n ? bsearch(&k, arr, n, sizeof(*arr), cmp_key) : NULL;
}

static int snap_symbol(struct kpm_target *t, const char *name, uint64_t *addr)
{
	struct key *k = find_key(SNAP(t)->sym, SNAP(t)->nsym, name, NULL);

	if (!k || !k->found)
		return -1;
	*addr = k->addr;
	return 0;
}

static int snap_member(struct kpm_target *t, const char *type, const char *member,
		       struct kpm_layout *out)
{
	struct key *k = find_key(SNAP(t)->mem, SNAP(t)->nmem, type, member);

	if (!k || !k->found)
		return -1;
	out->off = k->v[0];
	out->size = k->v[1];
	out->bit_off = k->v[2];
	out->bit_size = k->v[3];
	return 0;
}

static long snap_type_size(struct kpm_target *t, const char *type)
{
	struct key *k = find_key(SNAP(t)->typ, SNAP(t)->ntyp, type, NULL);

	return k ? k->v[0] : -1;
}

static int snap_enum_value(struct kpm_target *t, const char *name, long *value)
{
	struct key *k = find_key(SNAP(t)->enm, SNAP(t)->nenm, name, NULL);

	if (!k || !k->found)
		return -1;
	*value = k->v[0];
	return 0;
}

static int snap_symbol_at(struct kpm_target *t, uint64_t addr, char *name, size_t len,
			  uint64_t *offset)
{
	struct kpm_snapshot *s = SNAP(t);
	struct key k = { .addr = addr }, *e;

	e = s->nsat ? bsearch(&k, s->sat, s->nsat, sizeof(*s->sat), cmp_sat) : NULL;
	if (!e || !e->found)
		return -1;
	snprintf(name, len, "%s", e->a);
	*offset = (uint64_t)e->v[0];
	return 0;
}

static const struct kpm_target_ops snap_ops = {
	.read = snap_read,
	.symbol = snap_symbol,
	.member = snap_member,
	.type_size = snap_type_size,
	.enum_value = snap_enum_value,
	.symbol_at = snap_symbol_at,
};

void kpm_snapshot_target(struct kpm_snapshot *s, struct kpm_target *t)
{
	kpm_target_init(t, &snap_ops, s);
	kpm_target_set_arch(t, s->arch);
}

long kpm_snapshot_pages(const struct kpm_snapshot *s)
{
	return s->npg;
}

uint64_t kpm_snapshot_page_addr(const struct kpm_snapshot *s, long i)
{
	return s->pg[i].addr;
}

unsigned char *kpm_snapshot_page(struct kpm_snapshot *s, long i)
{
	return s->pg[i].data;
}

int *kpm_snapshot_page_present(struct kpm_snapshot *s, long i)
{
	return &s->pg[i].present;
}
