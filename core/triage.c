// SPDX-License-Identifier: GPL-2.0
/*
 * kpm triage: the one-shot report for a bug report's vmcore.  The kernel
 * release, taint, the panic message, the panicking CPU and task, the last
 * lines of the kernel log, then every registered decoder that applies,
 * each isolated from the others, each with a status:
 *
 *   ok                   decoded completely (its findings, if any, listed)
 *   nothing wrong found  decoded completely, no finding
 *   not applicable       nothing to decode in this kernel (and why)
 *   partial              decoded, but some objects could not be read (which)
 *   failed               could not decode (why)
 *
 * Text and JSON (-j, schema KPM_TRIAGE_SCHEMA, docs/triage-json.md) are
 * rendered from the same collected model.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "kpm.h"
#include "kernel.h"
#include "printk.h"

#define DEFAULT_LOG_LINES	10
#define MAX_LOG_LINES		10000

struct lines {
	char **v;
	int n, cap;
};

struct finding {
	char *summary;
	struct lines details;
	char *data;		/* JSON object, or NULL */
	size_t datalen;
	FILE *datafp;
	struct kpm_json dj;
};

enum status { ST_OK, ST_NOTHING, ST_NA, ST_PARTIAL, ST_FAILED, NR_ST };

static const char *const status_text[NR_ST] = {
	"ok", "nothing wrong found", "not applicable", "partial", "failed",
};
static const char *const status_key[NR_ST] = {
	"ok", "nothing_wrong", "not_applicable", "partial", "failed",
};

struct kpm_triage {
	int raw;
	/* each finding allocated on its own: its memstream holds &data, &datalen */
	struct finding **f;
	int nf, cap;
	struct lines partial, info;
};

struct result {
	const struct kpm_decoder *d;
	enum status st;
	char reason[KPM_ERRLEN];
	struct kpm_triage tr;
};

static void add_line(struct lines *l, char *s)
{
	if (!s)
		return;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 8;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
}

static void free_lines(struct lines *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

static void close_data(struct finding *f)
{
	if (f->datafp) {
		kpm_json_end(&f->dj, '}');
		fclose(f->datafp);
		f->datafp = NULL;
	}
}

void kpm_tr_finding(struct kpm_triage *tr, const char *fmt, ...)
{
	va_list ap;
	struct finding *f;

	if (tr->nf)
		close_data(tr->f[tr->nf - 1]);
	if (tr->nf == tr->cap) {
		int cap = tr->cap ? 2 * tr->cap : 8;
		struct finding **n = realloc(tr->f, cap * sizeof(*n));

		if (!n)
			return;
		tr->f = n;
		tr->cap = cap;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return;
	tr->f[tr->nf++] = f;
	va_start(ap, fmt);
	f->summary = vfmt(fmt, ap);
	va_end(ap);
}

void kpm_tr_detail(struct kpm_triage *tr, const char *fmt, ...)
{
	va_list ap;

	if (!tr->nf)
		return;
	va_start(ap, fmt);
	add_line(&tr->f[tr->nf - 1]->details, vfmt(fmt, ap));
	va_end(ap);
}

struct kpm_json *kpm_tr_data(struct kpm_triage *tr)
{
	static struct kpm_json sink;
	struct finding *f;

	if (!tr->nf)
		goto none;
	f = tr->f[tr->nf - 1];
	if (!f->datafp && !f->data) {
		f->datafp = open_memstream(&f->data, &f->datalen);
		if (!f->datafp)
			goto none;
		kpm_json_open(&f->dj, f->datafp);
		kpm_json_begin(&f->dj, NULL, '{');
	}
	if (f->datafp)
		return &f->dj;
none:
	/* nowhere to write: a writer to /dev/null keeps callers simple */
	if (!sink.fp)
		sink.fp = fopen("/dev/null", "w");
	kpm_json_open(&sink, sink.fp);
	return &sink;
}

void kpm_tr_partial(struct kpm_triage *tr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(&tr->partial, vfmt(fmt, ap));
	va_end(ap);
}

void kpm_tr_info(struct kpm_triage *tr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(&tr->info, vfmt(fmt, ap));
	va_end(ap);
}

int kpm_tr_raw(const struct kpm_triage *tr)
{
	return tr->raw;
}

void kpm_diag(struct kpm_diag *d, int first, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (first)
		d->n++;
	switch (d->kind) {
	case KPM_DIAG_COUNT:
		break;
	case KPM_DIAG_TEXT:
		fprintf(d->fp, "%s%s\n", first ? "  " : "    ", buf);
		break;
	case KPM_DIAG_JSON:
		if (first) {
			kpm_diag_end(d);
			kpm_json_begin(d->j, NULL, '{');
			kpm_json_str(d->j, "finding", buf);
			kpm_json_begin(d->j, "details", '[');
			d->open = 1;
		} else if (d->open) {
			kpm_json_str(d->j, NULL, buf);
		}
		break;
	case KPM_DIAG_TRIAGE:
		if (first)
			kpm_tr_finding(d->tr, "%s", buf);
		else
			kpm_tr_detail(d->tr, "%s", buf);
		break;
	}
}

struct kpm_json *kpm_diag_data(struct kpm_diag *d)
{
	return d->kind == KPM_DIAG_TRIAGE ? kpm_tr_data(d->tr) : NULL;
}

void kpm_diag_end(struct kpm_diag *d)
{
	if (d->kind == KPM_DIAG_JSON && d->open) {
		kpm_json_end(d->j, ']');
		kpm_json_end(d->j, '}');
		d->open = 0;
	}
}

static void free_triage(struct kpm_triage *tr)
{
	int i;

	for (i = 0; i < tr->nf; i++) {
		close_data(tr->f[i]);
		free(tr->f[i]->summary);
		free_lines(&tr->f[i]->details);
		free(tr->f[i]->data);
		free(tr->f[i]);
	}
	free(tr->f);
	free_lines(&tr->partial);
	free_lines(&tr->info);
}

/* The kernel: release, taint, panic, log */

struct logtail {
	struct kpm_log_record *r;	/* ring of the last n records (text copied) */
	long n, next, seen;
	char *panic;			/* the last "Kernel panic - not syncing" text */
	uint64_t panic_seq;
};

static int keep_record(struct kpm_target *t, const struct kpm_log_record *r, void *arg)
{
	struct logtail *lt = arg;
	struct kpm_log_record *slot;
	char *text;

	if (r->len >= 23 && !strncmp(r->text, "Kernel panic - not syncing", 26 < r->len ? 26 : r->len)) {
		free(lt->panic);
		lt->panic = strndup(r->text, r->len);
		lt->panic_seq = r->seq;
	}
	lt->seen++;
	if (!lt->n)
		return 0;
	/* all len bytes: a record's text may hold a NUL (strndup would stop) */
	text = malloc(r->len + 1);
	if (!text)
		return 0;
	memcpy(text, r->text, r->len);
	text[r->len] = 0;
	slot = &lt->r[lt->next];
	free((char *)slot->text);
	*slot = *r;
	slot->text = text;
	lt->next = (lt->next + 1) % lt->n;
	return 0;
}

struct sysinfo {
	char release[128], version[256];
	int have_release, have_version;
	uint64_t taint;
	char taint_letters[64];
	int have_taint;
	char taint_err[KPM_ERRLEN];
	int panic_cpu, pid, have_panic;
	uint64_t task;
	char comm[32];
	char panic_err[KPM_ERRLEN];
	struct logtail log;
	long nlog;			/* records in log.r, oldest at log.next */
	char log_err[KPM_ERRLEN];
	const char *eraseinfo;		/* the dump's, when makedumpfile filtered it */
	long erase_commands;
};

/*
 * A filtered dump's erase info, as uniq -c would count it: makedumpfile
 * writes a loop's erase command once per element, one after the other.
 * At most ERASE_LINES lines; then how many more.
 */
#define ERASE_LINES	32

static void erase_lines(const char *info, void (*fn)(void *, const char *, int, long), void *arg)
{
	const char *p, *e, *q, *f;
	long times, shown = 0, more = 0;

	for (p = info; p && *p; p = q) {
		e = strchrnul(p, '\n');
		times = 1;
		for (q = e + !!*e; *q; q = f + !!*f, times++) {
			f = strchrnul(q, '\n');
			if (f - q != e - p || memcmp(q, p, e - p))
				break;
		}
		if (e == p)
			continue;
		if (shown++ < ERASE_LINES)
			fn(arg, p, (int)(e - p), times);
		else
			more++;
	}
	if (more)
		fn(arg, NULL, 0, more);
}

static void erase_line_text(void *fp, const char *line, int len, long times)
{
	if (!line)
		fprintf(fp, "    (and %ld more)\n", times);
	else if (times > 1)
		fprintf(fp, "    %.*s (%ld times)\n", len, line, times);
	else
		fprintf(fp, "    %.*s\n", len, line);
}

static void erase_line_json(void *j, const char *line, int len, long times)
{
	char buf[256];

	if (!line)
		return;
	snprintf(buf, sizeof(buf), "%.*s", len, line);
	kpm_json_begin(j, NULL, '{');
	kpm_json_str(j, "command", buf);
	kpm_json_i64(j, "times", times);
	kpm_json_end(j, '}');
}

static void read_sysinfo(struct kpm_target *t, struct sysinfo *s, long nlines)
{
	long r;

	memset(s, 0, sizeof(*s));
	s->eraseinfo = t->eraseinfo;
	s->erase_commands = kpm_erase_commands(t);
	s->have_release = kpm_kernel_release(t, s->release, sizeof(s->release)) == 0;
	s->have_version = kpm_kernel_version(t, s->version, sizeof(s->version)) == 0;
	s->have_taint = kpm_taint(t, &s->taint, s->taint_letters, sizeof(s->taint_letters)) == 0;
	if (!s->have_taint)
		snprintf(s->taint_err, sizeof(s->taint_err), "%s", t->err);
	s->have_panic = kpm_panic_info(t, &s->panic_cpu, &s->task, &s->pid, s->comm,
				       sizeof(s->comm)) == 0;
	if (!s->have_panic)
		snprintf(s->panic_err, sizeof(s->panic_err), "%s", t->err);
	s->log.n = nlines;
	s->log.r = calloc(nlines ? nlines : 1, sizeof(*s->log.r));
	t->err[0] = 0;
	r = s->log.r ? kpm_log_walk(t, keep_record, &s->log) : -1;
	if (r < 0 || t->err[0])
		snprintf(s->log_err, sizeof(s->log_err), "%s", s->log.r ? t->err : "out of memory");
	s->nlog = s->log.seen < nlines ? s->log.seen : nlines;
}

static void free_sysinfo(struct sysinfo *s)
{
	long i;

	for (i = 0; s->log.r && i < s->log.n; i++)
		free((char *)s->log.r[i].text);
	free(s->log.r);
	free(s->log.panic);
}

static const struct kpm_log_record *log_at(const struct sysinfo *s, long i)
{
	long first = s->log.seen < s->log.n ? 0 : s->log.next;

	return &s->log.r[(first + i) % s->log.n];
}

/* Decoders */

static void run_decoder(struct kpm_target *t, const struct kpm_decoder *d, int raw,
			struct result *r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->d = d;
	r->tr.raw = raw;
	t->err[0] = 0;
	if (d->applies && d->applies(t) < 0) {
		r->st = ST_NA;
		snprintf(r->reason, sizeof(r->reason), "%s", t->err);
		return;
	}
	t->err[0] = 0;
	ret = d->triage(t, &r->tr);
	if (r->tr.nf)
		close_data(r->tr.f[r->tr.nf - 1]);
	if (ret < 0) {
		r->st = ST_FAILED;
		snprintf(r->reason, sizeof(r->reason), "%s", t->err[0] ? t->err : "unknown error");
	} else if (r->tr.partial.n) {
		r->st = ST_PARTIAL;
	} else {
		r->st = r->tr.nf ? ST_OK : ST_NOTHING;
	}
}

static int cmp_order(const void *a, const void *b)
{
	const struct kpm_decoder *x = *(const struct kpm_decoder *const *)a;
	const struct kpm_decoder *y = *(const struct kpm_decoder *const *)b;

	return x->triage_order != y->triage_order ? x->triage_order - y->triage_order
						  : strcmp(x->name, y->name);
}

static void text_report(FILE *fp, const struct sysinfo *s, const struct result *res, int n)
{
	int i, k, l, cnt[NR_ST] = { 0 }, findings = 0;
	long j;

	fprintf(fp, "KPM TRIAGE\n");
	fprintf(fp, "  kernel:  %s%s%s\n", s->have_release ? s->release : "(release unreadable)",
		s->have_version ? " " : "", s->have_version ? s->version : "");
	if (s->have_taint)
		fprintf(fp, "  taint:   %s\n", s->taint ? s->taint_letters : "not tainted");
	else
		fprintf(fp, "  taint:   unknown (%s)\n", s->taint_err);
	fprintf(fp, "  panic:   %s\n", s->log.panic ? s->log.panic : "no \"Kernel panic\" message in the log");
	if (s->have_panic)
		fprintf(fp, "  cpu:     %d, task %016" PRIx64 " \"%s\" pid %d\n", s->panic_cpu, s->task,
			s->comm, s->pid);
	else
		fprintf(fp, "  cpu:     unknown (%s)\n", s->panic_err);
	if (s->eraseinfo) {
		fprintf(fp, "  dump:    filtered by makedumpfile --config, %ld erase command%s; "
			"kpm shows what they erased (0x58) as erased\n",
			s->erase_commands, s->erase_commands == 1 ? "" : "s");
		erase_lines(s->eraseinfo, erase_line_text, fp);
	}
	if (s->nlog) {
		fprintf(fp, "  last %ld log records:\n", s->nlog);
		for (j = 0; j < s->nlog; j++)
			kpm_log_print(fp, "    ", log_at(s, j));
	}
	if (s->log_err[0])
		fprintf(fp, "  log: %s\n", s->log_err);

	for (i = 0; i < n; i++) {
		const struct result *r = &res[i];

		cnt[r->st]++;
		findings += r->tr.nf;
		fprintf(fp, "\n%s: %s", r->d->name, status_text[r->st]);
		if (r->reason[0])
			fprintf(fp, ": %s", r->reason);
		if (r->tr.nf)
			fprintf(fp, ", %d finding%s", r->tr.nf, r->tr.nf == 1 ? "" : "s");
		fprintf(fp, "\n");
		for (k = 0; k < r->tr.nf; k++) {
			const struct finding *f = r->tr.f[k];

			fprintf(fp, "  %s\n", f->summary ? f->summary : "?");
			for (l = 0; l < f->details.n; l++)
				fprintf(fp, "    %s\n", f->details.v[l]);
		}
		for (k = 0; k < r->tr.partial.n; k++)
			fprintf(fp, "  could not read: %s\n", r->tr.partial.v[k]);
		for (k = 0; k < r->tr.info.n; k++)
			fprintf(fp, "  (%s)\n", r->tr.info.v[k]);
	}
	fprintf(fp, "\ntriage: %d finding%s", findings, findings == 1 ? "" : "s");
	for (i = 0, k = 0; i < n; i++)
		if (res[i].tr.nf)
			fprintf(fp, "%s%s %d", k++ ? ", " : " (", res[i].d->name, res[i].tr.nf);
	fprintf(fp, "%s; %d decoder%s: %d ok, %d nothing wrong found, %d not applicable, %d partial, %d failed\n",
		k ? ")" : "", n, n == 1 ? "" : "s", cnt[ST_OK], cnt[ST_NOTHING], cnt[ST_NA],
		cnt[ST_PARTIAL], cnt[ST_FAILED]);
}

static void json_report(FILE *fp, const struct sysinfo *s, const struct result *res, int n)
{
	struct kpm_json j;
	int i, k, l, cnt[NR_ST] = { 0 }, findings = 0;
	long r;

	kpm_json_open(&j, fp);
	kpm_json_begin(&j, NULL, '{');
	kpm_json_i64(&j, "schema", KPM_TRIAGE_SCHEMA);
	kpm_json_begin(&j, "kernel", '{');
	if (s->have_release)
		kpm_json_str(&j, "release", s->release);
	if (s->have_version)
		kpm_json_str(&j, "version", s->version);
	if (s->have_taint) {
		kpm_json_u64(&j, "taint", s->taint);
		kpm_json_str(&j, "taint_flags", s->taint_letters);
	} else {
		kpm_json_str(&j, "taint_error", s->taint_err);
	}
	kpm_json_end(&j, '}');
	kpm_json_begin(&j, "panic", '{');
	if (s->log.panic)
		kpm_json_str(&j, "message", s->log.panic);
	else
		kpm_json_null(&j, "message");
	if (s->have_panic) {
		kpm_json_i64(&j, "cpu", s->panic_cpu);
		kpm_json_hex(&j, "task", s->task);
		kpm_json_i64(&j, "pid", s->pid);
		kpm_json_str(&j, "comm", s->comm);
	} else {
		kpm_json_str(&j, "error", s->panic_err);
	}
	kpm_json_end(&j, '}');
	if (s->eraseinfo) {
		kpm_json_begin(&j, "filtered", '{');
		kpm_json_i64(&j, "erase_commands", s->erase_commands);
		kpm_json_begin(&j, "eraseinfo", '[');
		erase_lines(s->eraseinfo, erase_line_json, &j);
		kpm_json_end(&j, ']');
		kpm_json_end(&j, '}');
	}
	kpm_json_begin(&j, "log", '[');
	for (r = 0; r < s->nlog; r++) {
		const struct kpm_log_record *rec = log_at(s, r);

		kpm_json_begin(&j, NULL, '{');
		kpm_json_u64(&j, "seq", rec->seq);
		kpm_json_u64(&j, "ts_nsec", rec->ts_nsec);
		kpm_json_i64(&j, "level", rec->level);
		kpm_json_str(&j, "text", rec->text);
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	if (s->log_err[0])
		kpm_json_str(&j, "log_error", s->log_err);
	kpm_json_begin(&j, "decoders", '[');
	for (i = 0; i < n; i++) {
		const struct result *rs = &res[i];

		cnt[rs->st]++;
		findings += rs->tr.nf;
		kpm_json_begin(&j, NULL, '{');
		kpm_json_str(&j, "name", rs->d->name);
		kpm_json_str(&j, "status", status_key[rs->st]);
		if (rs->reason[0])
			kpm_json_str(&j, "reason", rs->reason);
		kpm_json_begin(&j, "findings", '[');
		for (k = 0; k < rs->tr.nf; k++) {
			const struct finding *f = rs->tr.f[k];

			kpm_json_begin(&j, NULL, '{');
			kpm_json_str(&j, "summary", f->summary ? f->summary : "");
			kpm_json_begin(&j, "details", '[');
			for (l = 0; l < f->details.n; l++)
				kpm_json_str(&j, NULL, f->details.v[l]);
			kpm_json_end(&j, ']');
			if (f->data)
				kpm_json_raw(&j, "data", f->data);
			kpm_json_end(&j, '}');
		}
		kpm_json_end(&j, ']');
		kpm_json_begin(&j, "unreadable", '[');
		for (k = 0; k < rs->tr.partial.n; k++)
			kpm_json_str(&j, NULL, rs->tr.partial.v[k]);
		kpm_json_end(&j, ']');
		kpm_json_begin(&j, "info", '[');
		for (k = 0; k < rs->tr.info.n; k++)
			kpm_json_str(&j, NULL, rs->tr.info.v[k]);
		kpm_json_end(&j, ']');
		kpm_json_end(&j, '}');
	}
	kpm_json_end(&j, ']');
	kpm_json_begin(&j, "summary", '{');
	kpm_json_i64(&j, "findings", findings);
	kpm_json_i64(&j, "decoders", n);
	for (i = 0; i < NR_ST; i++)
		kpm_json_i64(&j, status_key[i], cnt[i]);
	kpm_json_end(&j, '}');
	kpm_json_end(&j, '}');
	kpm_json_close(&j);
}

static long triage_report(struct kpm_target *t, FILE *fp, const struct kpm_args *a)
{
	const struct kpm_decoder *const *all = kpm_decoders(), **list;
	struct result *res;
	struct sysinfo s;
	long nlines = DEFAULT_LOG_LINES, findings = 0;
	int n = 0, i;

	if (kpm_opt_given(a, 'n'))
		nlines = kpm_opt_num(a, 'n') > MAX_LOG_LINES ? MAX_LOG_LINES : (long)kpm_opt_num(a, 'n');
	/* decoders named on the command line: only those */
	for (i = 0; i < a->npos; i++) {
		const struct kpm_decoder *d = kpm_decoder(a->pos[i]);

		if (!d || d->triage_order <= 0 || !d->triage) {
			kpm_errf(t, "%s is not a decoder triage runs", a->pos[i]);
			return -2;
		}
	}
	for (i = 0; all[i]; i++)
		n += all[i]->triage_order > 0 && all[i]->triage;
	list = calloc(n ? n : 1, sizeof(*list));
	res = calloc(n ? n : 1, sizeof(*res));
	if (!list || !res) {
		free(list);
		free(res);
		kpm_errf(t, "out of memory");
		return -1;
	}
	for (i = 0, n = 0; all[i]; i++) {
		int k, named = !a->npos;

		for (k = 0; k < a->npos; k++)
			named |= !strcmp(a->pos[k], all[i]->name);
		if (all[i]->triage_order > 0 && all[i]->triage && named)
			list[n++] = all[i];
	}
	qsort(list, n, sizeof(*list), cmp_order);

	read_sysinfo(t, &s, nlines);
	for (i = 0; i < n; i++) {
		run_decoder(t, list[i], kpm_opt_given(a, 'x'), &res[i]);
		findings += res[i].tr.nf;
	}
	if (kpm_opt_given(a, 'j'))
		json_report(fp, &s, res, n);
	else
		text_report(fp, &s, res, n);
	for (i = 0; i < n; i++)
		free_triage(&res[i].tr);
	free_sysinfo(&s);
	free(list);
	free(res);
	t->err[0] = 0;
	return findings;
}

static const struct kpm_opt triage_opts[] = {
	{ 'j', KPM_OPT_FLAG, NULL, "one JSON document (schema in docs/triage-json.md)" },
	{ 'x', KPM_OPT_FLAG, NULL, "include raw memory (hex dumps) in the findings" },
	{ 'n', KPM_OPT_NUM, "records", "how many of the last log records to show (default 10)" },
	{ 0 },
};

static const char *const triage_help[] = {
	"  The first command to run on a vmcore from a bug report.  Prints the",
	"  kernel release and version, the taint flags, the panic message, the",
	"  panicking CPU and the task on it, and the last records of the kernel",
	"  log; then runs every kpm decoder that applies to this kernel, each",
	"  isolated from the others (one failing never stops the next), and prints",
	"  its findings with a status:",
	"",
	"    ok                   decoded completely; its findings are listed",
	"    nothing wrong found  decoded completely, no finding",
	"    not applicable       nothing to decode in this kernel, and why",
	"    partial              some objects could not be read, and which",
	"    failed               the decoder could not run, and why",
	"",
	"  The last line sums up.  Decoders that need a module's debug info (nvme)",
	"  report \"not applicable\" or \"failed\" until it is loaded (mod -s).",
	"  A dump that makedumpfile filtered (--config, docs/filter.md) gets a",
	"  \"dump:\" line naming its erase commands; what they erased (0x58 bytes)",
	"  is reported as erased, never as data.",
	"",
	"    -j  one JSON document for bug trackers (docs/triage-json.md); no raw",
	"        memory unless -x is given.",
	"    -x  include raw memory (hex dumps of leaked objects).",
	"    -n  show this many of the last log records (default 10).",
	"",
	"  Decoders named after the options (\"triage nvmeq kfd\") run alone.",
	"\nEXAMPLE",
	"  The NVMe double completion fixture, nvme's debug info loaded:",
	"",
	"    crash> kpm -n 3",
	"    KPM TRIAGE",
	"      kernel:  6.1.192-kpm #2 SMP Sat Nov 21 19:06:17 UTC 2026",
	"      taint:   O",
	"      panic:   Kernel panic - not syncing: nvme: invalid completion id 0xc000 on queue 2",
	"      cpu:     0, task ffff9d8600aa2700 \"insmod\" pid 62",
	"      last 3 log records:",
	"        [    5.197768] R10: 0000000000000003 R11: 0000000000000246 R12: 000000002cab8bc8",
	"        [    5.197858] R13: 000000002cab8c10 R14: 0000000000000000 R15: 0000000000000000",
	"        [    5.197902]  </TASK>",
	"",
	"    nvmeq: ok, 1 finding",
	"      nvme0 qid 2 cq slot 365 (cq_head): duplicate completion, command_id 0xc000 (genctr 12, tag 0)",
	"        request ffff9d8602dc0000 for tag 0 has genctr 13 (nvme_request.genctr 109), state IDLE: it already completed",
	"        the same command id was already consumed from slot 364",
	"      (1 controller, 3 queues)",
	"",
	"    kmemleak: nothing wrong found",
	"      (19661 objects: 19409 virtual, 34 phys, 218 per-CPU; 0 reported leaks)",
	"",
	"    triage: 1 finding (nvmeq 1); 2 decoders: 1 ok, 1 nothing wrong found, 0 not applicable, 0 partial, 0 failed",
	NULL
};

KPM_DECODER(triage_decoder) = {
	.name = "triage",
	.summary = "what is wrong in this dump: kernel, panic, log, every decoder's diagnosis",
	.synopsis = "[-j] [-x] [-n records] [decoder]...",
	.help = triage_help,
	.opts = triage_opts,
	.posargs = "decoder",
	.report = triage_report,
};
