// SPDX-License-Identifier: GPL-2.0
/*
 * kpm decoder core: the kernel log from the lockless printk ring buffer
 * (kernel/printk/printk_ringbuffer.[ch], v5.10+), and the kernel facts a
 * triage header states: release, version, taint, the panicking CPU and
 * task.
 *
 * The ring buffer (`prb`, a struct printk_ringbuffer *) is two rings: a
 * descriptor ring (desc_ring: 2^count_bits struct prb_desc, each with its
 * struct printk_info in a parallel array) and a text data ring
 * (text_data_ring: 2^size_bits bytes).  A descriptor's state_var holds
 * its id and state; its text_blk_lpos gives the logical positions of its
 * text block, which starts with the descriptor id.  Readers walk ids from
 * desc_ring.tail_id to head_id.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "printk.h"
#include "kernel.h"

/*
 * Not in debug info (#defines in kernel/printk/printk_ringbuffer.h,
 * identical in 6.1 and 6.12; crash's reader, printk.c, decodes the
 * same since 5.10):
 * - state_var is an unsigned long: the descriptor id in its low
 *   DESC_SV_BITS - 2 bits (DESC_ID_MASK), the state in the top two
 *   (DESC_FLAGS_SHIFT = DESC_SV_BITS - 2), where DESC_SV_BITS is
 *   BITS_PER_LONG: here the size of prb_desc.state_var.  The states are
 *   enum desc_state, which is in debug info.
 * - text_blk_lpos of a record without a data block has bit 0 set in both
 *   positions (LPOS_DATALESS()); begin == next == 0x3 is an empty line
 *   (NO_LPOS in 6.1, EMPTY_LINE_LPOS in 6.12), 0x1 (FAILED_LPOS) a record
 *   whose text could not be stored.
 * - a data block is the descriptor id (an unsigned long) followed by the
 *   text; blocks are aligned to the id's size; a block that would cross
 *   the end of the ring is stored whole at its start instead (its begin
 *   then lies one wrap, 2^size_bits, behind its next).
 */
#define DESC_STATE_BITS		2
#define LPOS_DATALESS(lpos)	((lpos) & 1)
#define EMPTY_LINE_LPOS		0x3	/* NO_LPOS in 6.1 */
#define FAILED_LPOS		0x1

/*
 * Bounds for a hostile dump: the kernel's own maxima (kernel/printk/
 * printk.c: LOG_BUF_LEN_MAX is 2^31 bytes, and a log buffer of 2^n bytes
 * gets 2^(n - PRB_AVGBITS) = 2^(n - 5) descriptors).
 */
#define MAX_SIZE_BITS		31
#define MAX_COUNT_BITS		26
#define MAX_TEXT		65535	/* printk_info.text_len is a u16 */
/*
 * A walk that has lost this many descriptors in a row gives up: a page of
 * descriptors missing from a dump loses about 170 (24-byte prb_desc), and
 * a hostile count_bits and head_id would otherwise have the walk fail
 * 2^26 reads, one error message each (a 30-second unit of make fuzz on
 * the nvmeq snapshot, docs/fuzzing.md).
 */
#define MAX_LOST_STREAK		(1L << 16)

/*
 * TAINT_FLAGS_COUNT (include/linux/panic.h): 19 in 6.1 and 6.12 (the last
 * is TAINT_TEST); taint_flags[] has that many entries.  The target
 * interface cannot give an array's length, so it is named here.
 */
#define TAINT_FLAGS_COUNT	19

/* read window: descriptors, infos and text are read 32 KiB at a time */
#define WINDOW			32768

enum {
	RB_DESC_RING, RB_TEXT_DATA_RING,
	DR_COUNT_BITS, DR_DESCS, DR_INFOS, DR_HEAD_ID, DR_TAIL_ID,
	TR_SIZE_BITS, TR_DATA,
	D_STATE_VAR, D_TEXT_BLK_LPOS, L_BEGIN, L_NEXT,
	I_SEQ, I_TS_NSEC, I_TEXT_LEN, I_FACILITY, I_FLAGS, I_LEVEL, I_CALLER_ID,
	NR_LOG
};

static const struct kpm_member log_tab[NR_LOG + 1] = {
	[RB_DESC_RING] = KPM_MEMBER("printk_ringbuffer", desc_ring),
	[RB_TEXT_DATA_RING] = KPM_MEMBER("printk_ringbuffer", text_data_ring),
	[DR_COUNT_BITS] = KPM_MEMBER("prb_desc_ring", count_bits),
	[DR_DESCS] = KPM_MEMBER("prb_desc_ring", descs),
	[DR_INFOS] = KPM_MEMBER("prb_desc_ring", infos),
	[DR_HEAD_ID] = KPM_MEMBER("prb_desc_ring", head_id),
	[DR_TAIL_ID] = KPM_MEMBER("prb_desc_ring", tail_id),
	[TR_SIZE_BITS] = KPM_MEMBER("prb_data_ring", size_bits),
	[TR_DATA] = KPM_MEMBER("prb_data_ring", data),
	[D_STATE_VAR] = KPM_MEMBER("prb_desc", state_var),
	[D_TEXT_BLK_LPOS] = KPM_MEMBER("prb_desc", text_blk_lpos),
	[L_BEGIN] = KPM_MEMBER("prb_data_blk_lpos", begin),
	[L_NEXT] = KPM_MEMBER("prb_data_blk_lpos", next),
	[I_SEQ] = KPM_MEMBER("printk_info", seq),
	[I_TS_NSEC] = KPM_MEMBER("printk_info", ts_nsec),
	[I_TEXT_LEN] = KPM_MEMBER("printk_info", text_len),
	[I_FACILITY] = KPM_MEMBER("printk_info", facility),
	[I_FLAGS] = KPM_MEMBER("printk_info", flags),
	[I_LEVEL] = KPM_MEMBER("printk_info", level),
	[I_CALLER_ID] = KPM_MEMBER("printk_info", caller_id),
	{ 0 }
};

/*
 * A cached window onto one array of the dump ([lo, hi)): sequential
 * records cost one read per 32 KiB.  A window that cannot be read whole
 * (a page missing from the dump) falls back to reading just the bytes
 * asked for, so one missing page loses only the records on it.
 */
struct window {
	struct kpm_target *t;
	const char *what;
	uint64_t lo, hi;
	uint64_t start;		/* of the cached bytes */
	size_t len;		/* 0: nothing cached */
	uint64_t bad;		/* start of a window that failed, or 0 */
	unsigned char buf[WINDOW];
};

static void win_init(struct window *w, struct kpm_target *t, const char *what,
		     uint64_t lo, uint64_t size)
{
	w->t = t;
	w->what = what;
	w->lo = lo;
	w->hi = lo + size;
	w->start = 0;
	w->len = 0;
	w->bad = 0;
}

static int win_read(struct window *w, uint64_t addr, void *out, size_t len)
{
	uint64_t start, end;

	if (addr < w->lo || addr + len > w->hi || addr + len < addr) {
		kpm_errf(w->t, "%s: %#" PRIx64 "+%zu outside the array", w->what, addr, len);
		return -1;
	}
	if (w->len && addr >= w->start && addr + len <= w->start + w->len) {
		memcpy(out, w->buf + (addr - w->start), len);
		return 0;
	}
	start = addr & ~(uint64_t)(WINDOW - 1);
	if (start < w->lo)
		start = w->lo;
	end = start + WINDOW;
	if (end > w->hi)
		end = w->hi;
	if (addr + len <= end && start != w->bad) {
		if (kpm_read(w->t, start, w->buf, end - start, w->what) == 0) {
			w->start = start;
			w->len = end - start;
			memcpy(out, w->buf + (addr - start), len);
			return 0;
		}
		w->bad = start;
	}
	return kpm_read(w->t, addr, out, len, w->what);
}

struct ring {
	struct kpm_member m[NR_LOG + 1];
	long desc_size, info_size;
	long idsz;			/* sizeof(unsigned long): state_var's size */
	uint64_t id_mask;		/* DESC_ID_MASK */
	long committed, finalized, reusable, reserved;	/* enum desc_state */
	uint64_t count;			/* descriptors */
	uint64_t size;			/* text data ring bytes */
	uint64_t descs, infos, data;
	uint64_t head_id, tail_id;
	struct window wdesc, winfo, wtext;
	unsigned char *desc, *info;	/* one of each */
	char *text;			/* idsz + MAX_TEXT + 1 */
	/* what was lost */
	long lost, unreadable, miss, reserved_n, invalid, overwritten;
	char first_err[KPM_ERRLEN];
	int clamped;		/* tail_id..head_id more than a ring */
};

static int enum_value(struct kpm_target *t, const char *name, long *v)
{
	if (t->ops->enum_value(t, name, v) == 0)
		return 0;
	kpm_errf(t, "this kernel's debug info has no enumerator %s (enum desc_state)", name);
	return -1;
}

static int ring_init(struct kpm_target *t, struct ring *r)
{
	unsigned char *rb;
	uint64_t prb, count_bits, size_bits;
	long rb_size, dr, tr;

	memcpy(r->m, log_tab, sizeof(log_tab));
	if (kpm_resolve(t, r->m))
		return -1;
	if (enum_value(t, "desc_committed", &r->committed) ||
	    enum_value(t, "desc_finalized", &r->finalized) ||
	    enum_value(t, "desc_reusable", &r->reusable) ||
	    enum_value(t, "desc_reserved", &r->reserved))
		return -1;
	rb_size = t->ops->type_size(t, "printk_ringbuffer");
	r->desc_size = t->ops->type_size(t, "prb_desc");
	r->info_size = t->ops->type_size(t, "printk_info");
	if (rb_size <= 0 || rb_size > 4096 || r->desc_size <= 0 || r->desc_size > 4096 ||
	    r->info_size <= 0 || r->info_size > 4096) {
		kpm_errf(t, "this kernel's debug info has no struct printk_ringbuffer, prb_desc or printk_info");
		return -1;
	}
	r->idsz = r->m[D_STATE_VAR].size;
	if (r->idsz != 4 && r->idsz != 8) {
		kpm_errf(t, "prb_desc.state_var: unexpected size %ld", r->idsz);
		return -1;
	}
	r->id_mask = (1ULL << (r->idsz * 8 - DESC_STATE_BITS)) - 1;

	if (t->ops->symbol(t, "prb", &prb)) {
		kpm_errf(t, "no symbol prb: this kernel has no lockless printk ring buffer (before 5.10)");
		return -1;
	}
	if (kpm_read_ptr(t, prb, &prb, "prb"))
		return -1;
	rb = malloc(rb_size);
	if (!rb) {
		kpm_errf(t, "out of memory");
		return -1;
	}
	if (kpm_read(t, prb, rb, rb_size, "printk_ringbuffer")) {
		free(rb);
		return -1;
	}
	dr = r->m[RB_DESC_RING].off;
	tr = r->m[RB_TEXT_DATA_RING].off;
	count_bits = kpm_get(rb, dr + r->m[DR_COUNT_BITS].off, r->m[DR_COUNT_BITS].size);
	size_bits = kpm_get(rb, tr + r->m[TR_SIZE_BITS].off, r->m[TR_SIZE_BITS].size);
	r->descs = kpm_get(rb, dr + r->m[DR_DESCS].off, r->m[DR_DESCS].size);
	r->infos = kpm_get(rb, dr + r->m[DR_INFOS].off, r->m[DR_INFOS].size);
	/* atomic_long_t: its one member, counter, at offset 0 */
	r->head_id = kpm_get(rb, dr + r->m[DR_HEAD_ID].off, r->m[DR_HEAD_ID].size);
	r->tail_id = kpm_get(rb, dr + r->m[DR_TAIL_ID].off, r->m[DR_TAIL_ID].size);
	r->data = kpm_get(rb, tr + r->m[TR_DATA].off, r->m[TR_DATA].size);
	free(rb);

	if (count_bits > MAX_COUNT_BITS || size_bits > MAX_SIZE_BITS || size_bits < 4) {
		kpm_errf(t, "printk_ringbuffer %#" PRIx64 ": count_bits %" PRIu64
			 " size_bits %" PRIu64 " out of range", prb, count_bits, size_bits);
		return -1;
	}
	r->count = 1ULL << count_bits;
	r->size = 1ULL << size_bits;
	if (!kpm_kptr_ok(t, r->descs) || !kpm_kptr_ok(t, r->infos) || !kpm_kptr_ok(t, r->data)) {
		kpm_errf(t, "printk_ringbuffer %#" PRIx64 ": descs %#" PRIx64 " infos %#" PRIx64
			 " data %#" PRIx64 ": not kernel addresses", prb, r->descs, r->infos, r->data);
		return -1;
	}
	r->desc = malloc(r->desc_size);
	r->info = malloc(r->info_size);
	r->text = malloc(r->idsz + MAX_TEXT + 1);
	if (!r->desc || !r->info || !r->text) {
		kpm_errf(t, "out of memory");
		return -1;
	}
	win_init(&r->wdesc, t, "prb_desc", r->descs, r->count * r->desc_size);
	win_init(&r->winfo, t, "printk_info", r->infos, r->count * r->info_size);
	win_init(&r->wtext, t, "printk text data", r->data, r->size);
	return 0;
}

static void ring_free(struct ring *r)
{
	free(r->desc);
	free(r->info);
	free(r->text);
}

static void lost(struct ring *r, long *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lost(struct ring *r, long *kind, const char *fmt, ...)
{
	va_list ap;

	r->lost++;
	(*kind)++;
	if (r->first_err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->first_err, sizeof(r->first_err), fmt, ap);
	va_end(ap);
}

/*
 * The text of a committed record: where its block starts in the ring and
 * how many bytes it holds after the id, validated as the kernel's
 * get_data() does.  0, or -1 (the record's text is lost).
 */
static int text_block(struct ring *r, uint64_t id, uint64_t begin, uint64_t next,
		      uint64_t *off, uint64_t *dsize)
{
	uint64_t mask = r->size - 1;
	unsigned int bits = __builtin_ctzll(r->size);

	if (LPOS_DATALESS(begin) && LPOS_DATALESS(next)) {
		if (begin == EMPTY_LINE_LPOS && next == EMPTY_LINE_LPOS) {
			*off = *dsize = 0;
			return 0;
		}
		if (begin == FAILED_LPOS && next == FAILED_LPOS)
			lost(r, &r->invalid, "id %#" PRIx64 ": the kernel could not store its text (FAILED_LPOS)", id);
		else
			lost(r, &r->invalid, "id %#" PRIx64 ": invalid data-less lpos %#" PRIx64 "/%#" PRIx64,
			     id, begin, next);
		return -1;
	}
	if (begin >> bits == next >> bits && begin < next) {
		*off = begin & mask;
		*dsize = next - begin;
	} else if ((begin + r->size) >> bits == next >> bits) {
		/* wrapped: the whole block is at the start of the ring */
		*off = 0;
		*dsize = next & mask;
	} else {
		lost(r, &r->invalid, "id %#" PRIx64 ": invalid text block lpos %#" PRIx64 "..%#" PRIx64,
		     id, begin, next);
		return -1;
	}
	if (begin % r->idsz || next % r->idsz || *dsize < (uint64_t)r->idsz) {
		lost(r, &r->invalid, "id %#" PRIx64 ": invalid text block lpos %#" PRIx64 "..%#" PRIx64,
		     id, begin, next);
		return -1;
	}
	*dsize -= r->idsz;
	return 0;
}

/* Read one descriptor's record; 1 with @rec filled, 0 when skipped. */
static int read_record(struct kpm_target *t, struct ring *r, uint64_t id,
		       struct kpm_log_record *rec)
{
	uint64_t idx = id & (r->count - 1), sv, state, begin, next, off, dsize, len, blk_id;
	long lb = r->m[D_TEXT_BLK_LPOS].off;

	if (win_read(&r->wdesc, r->descs + idx * r->desc_size, r->desc, r->desc_size)) {
		lost(r, &r->unreadable, "%s", t->err);
		return 0;
	}
	sv = kpm_get(r->desc, r->m[D_STATE_VAR].off, r->idsz);
	state = (sv >> (r->idsz * 8 - DESC_STATE_BITS)) & 3;
	if ((sv & r->id_mask) != id) {
		/*
		 * With tail_id and head_id inconsistent (clamped) the ring's
		 * extent is unknown: slots that hold other ids are not counted.
		 */
		if (r->clamped)
			return 0;
		lost(r, &r->miss, "id %#" PRIx64 ": descriptor %" PRIu64 " holds id %#" PRIx64,
		     id, idx, sv & r->id_mask);
		return 0;
	}
	if ((long)state == r->reusable)
		return 0;	/* its text was recycled: not a record any more */
	if ((long)state == r->reserved) {
		lost(r, &r->reserved_n, "id %#" PRIx64 ": still being written (desc_reserved)", id);
		return 0;
	}
	if ((long)state != r->committed && (long)state != r->finalized)
		return 0;

	if (win_read(&r->winfo, r->infos + idx * r->info_size, r->info, r->info_size)) {
		lost(r, &r->unreadable, "%s", t->err);
		return 0;
	}
	begin = kpm_get(r->desc, lb + r->m[L_BEGIN].off, r->m[L_BEGIN].size);
	next = kpm_get(r->desc, lb + r->m[L_NEXT].off, r->m[L_NEXT].size);
	if (text_block(r, id, begin, next, &off, &dsize))
		return 0;

	len = kpm_field(r->info, &r->m[I_TEXT_LEN]);
	/* a text_len beyond its block is cut to the block, as crash does */
	if (len > dsize)
		len = dsize;
	if (len > MAX_TEXT)
		len = MAX_TEXT;
	if (dsize) {
		uint64_t addr = r->data + off, n = r->idsz + len;
		int rc = n <= WINDOW ? win_read(&r->wtext, addr, r->text, n)
				     : kpm_read(t, addr, r->text, n, "printk text data");

		if (rc) {
			lost(r, &r->unreadable, "%s", t->err);
			return 0;
		}
		blk_id = kpm_get(r->text, 0, r->idsz);
		if ((blk_id & r->id_mask) != id) {
			lost(r, &r->overwritten, "id %#" PRIx64 ": its text block holds id %#" PRIx64,
			     id, blk_id);
			return 0;
		}
	}
	r->text[r->idsz + len] = 0;

	rec->seq = kpm_field(r->info, &r->m[I_SEQ]);
	rec->ts_nsec = kpm_field(r->info, &r->m[I_TS_NSEC]);
	rec->level = (int)kpm_field(r->info, &r->m[I_LEVEL]);
	rec->facility = (int)kpm_field(r->info, &r->m[I_FACILITY]);
	rec->caller_id = (uint32_t)kpm_field(r->info, &r->m[I_CALLER_ID]);
	rec->text = r->text + r->idsz;
	rec->len = len;
	return 1;
}

long kpm_log_walk_lost(struct kpm_target *t, kpm_log_fn fn, void *arg, long *nlost)
{
	struct ring *r;
	struct kpm_log_record rec;
	uint64_t n, i, id;
	long seen = 0, ret, streak = 0;
	uint64_t gave_up = 0;
	int rc, clamped = 0;

	if (nlost)
		*nlost = 0;
	r = calloc(1, sizeof(*r));
	if (!r) {
		kpm_errf(t, "out of memory");
		return -1;
	}
	if (ring_init(t, r)) {
		ring_free(r);
		free(r);
		return -1;
	}
	/*
	 * tail_id..head_id, inclusive; the kernel keeps them less than a
	 * ring apart.  Ids that are further apart (a hostile dump) are read
	 * for the newest ring's worth only.
	 */
	n = ((r->head_id - r->tail_id) & r->id_mask) + 1;
	if (n > r->count) {
		n = r->count;
		clamped = r->clamped = 1;
	}
	ret = 0;
	for (i = 0; i < n; i++) {
		long lost_before = r->lost;

		id = (r->head_id - (n - 1) + i) & r->id_mask;
		if (!read_record(t, r, id, &rec)) {
			if (r->lost == lost_before)
				streak = 0;
			else if (++streak == MAX_LOST_STREAK) {
				gave_up = i + 1;
				break;
			}
			continue;
		}
		streak = 0;
		seen++;
		rc = fn(t, &rec, arg);
		if (rc < 0) {
			ret = -1;
			break;
		}
		if (rc > 0)
			break;
	}
	if (ret == 0) {
		ret = seen;
		t->err[0] = 0;
		if (gave_up) {
			kpm_errf(t, "printk ring buffer: gave up after %ld descriptors in a row were lost "
				 "(%" PRIu64 " of %" PRIu64 " read; %ld record%s lost): %s",
				 MAX_LOST_STREAK, gave_up, n, r->lost, r->lost == 1 ? "" : "s",
				 r->first_err);
		} else if (r->lost || clamped) {
			const long counts[] = { r->unreadable, r->miss, r->reserved_n, r->invalid,
						r->overwritten };
			const char *const names[] = { "unreadable", "id mismatch", "being written",
						      "invalid", "overwritten" };
			char kinds[160] = "";
			size_t k, used = 0;

			for (k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
				if (counts[k] && used < sizeof(kinds))
					used += snprintf(kinds + used, sizeof(kinds) - used, "%s%ld %s",
							 used ? ", " : "", counts[k], names[k]);
			if (clamped)
				kpm_errf(t, "printk ring buffer: tail_id %#" PRIx64 " and head_id %#" PRIx64
					 " more than %" PRIu64 " descriptors apart: the newest %" PRIu64
					 " read; %ld record%s lost%s%s%s%s", r->tail_id, r->head_id, r->count,
					 r->count, r->lost, r->lost == 1 ? "" : "s", r->lost ? " (" : "",
					 kinds, r->lost ? "): " : "", r->first_err);
			else
				kpm_errf(t, "printk ring buffer: %ld record%s lost (%s): %s", r->lost,
					 r->lost == 1 ? "" : "s", kinds, r->first_err);
		}
	}
	if (nlost)
		*nlost = r->lost;
	ring_free(r);
	free(r);
	return ret;
}

long kpm_log_walk(struct kpm_target *t, kpm_log_fn fn, void *arg)
{
	return kpm_log_walk_lost(t, fn, arg, NULL);
}

/* Kernel release and version */

static int uts_field(struct kpm_target *t, const char *field, char *buf, size_t len)
{
	struct kpm_layout name, f;
	uint64_t uts;
	size_t max;

	if (!len)
		return -1;
	buf[0] = 0;
	if (t->ops->symbol(t, "init_uts_ns", &uts)) {
		kpm_errf(t, "no symbol init_uts_ns");
		return -1;
	}
	if (kpm_lookup_member(t, "uts_namespace", "name", &name) ||
	    kpm_lookup_member(t, "new_utsname", field, &f) || f.size <= 0) {
		kpm_errf(t, "this kernel's debug info has no uts_namespace.name.%s", field);
		return -1;
	}
	max = (size_t)f.size < len ? (size_t)f.size : len;
	/* room for the NUL: the member is NUL-terminated in the kernel */
	return kpm_read_string(t, uts + name.off + f.off, buf, max - 1, "init_uts_ns") < 0 ? -1 : 0;
}

int kpm_kernel_release(struct kpm_target *t, char *buf, size_t len)
{
	return uts_field(t, "release", buf, len);
}

int kpm_kernel_version(struct kpm_target *t, char *buf, size_t len)
{
	return uts_field(t, "version", buf, len);
}

/* Taint */

int kpm_taint(struct kpm_target *t, uint64_t *mask, char *letters, size_t len)
{
	struct kpm_member m[] = {
		KPM_MEMBER("taint_flag", c_true),
		{ 0 }
	};
	unsigned char *flags;
	uint64_t tf;
	long size;
	size_t n = 0;
	int i;

	*mask = 0;
	if (len)
		letters[0] = 0;
	if (kpm_symbol_u64(t, "tainted_mask", mask))
		return -1;
	if (t->ops->symbol(t, "taint_flags", &tf)) {
		kpm_errf(t, "no symbol taint_flags");
		return -1;
	}
	size = t->ops->type_size(t, "taint_flag");
	if (size <= 0 || size > 64) {
		kpm_errf(t, "this kernel's debug info has no struct taint_flag");
		return -1;
	}
	if (kpm_resolve(t, m))
		return -1;
	flags = malloc(size * TAINT_FLAGS_COUNT);
	if (!flags) {
		kpm_errf(t, "out of memory");
		return -1;
	}
	if (kpm_read(t, tf, flags, size * TAINT_FLAGS_COUNT, "taint_flags")) {
		free(flags);
		return -1;
	}
	for (i = 0; i < TAINT_FLAGS_COUNT && n + 1 < len; i++) {
		char c;

		if (!(*mask >> i & 1))
			continue;
		c = (char)kpm_field(flags + i * size, &m[0]);
		letters[n++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	if (len)
		letters[n] = 0;
	free(flags);
	return 0;
}

/* The panicking CPU and task */

/*
 * A global int (panic_cpu is an atomic_t, whose one member is the int
 * counter; x86's crashing_cpu is an int): sign-extended, or -1.
 */
static int global_int(struct kpm_target *t, const char *sym, int *val)
{
	uint64_t addr, v;

	*val = -1;
	if (t->ops->symbol(t, sym, &addr))
		return -1;
	if (kpm_read_uint(t, addr, 4, &v, sym))
		return -1;
	*val = (int)(int32_t)(uint32_t)v;
	return 0;
}

int kpm_panic_info(struct kpm_target *t, int *cpu, uint64_t *task, int *pid,
		   char *comm, size_t commlen)
{
	*cpu = -1;
	*task = 0;
	*pid = -1;
	if (commlen)
		comm[0] = 0;
	/* PANIC_CPU_INVALID is -1 (include/linux/panic.h, kernel/panic.c) */
	if (global_int(t, "panic_cpu", cpu) && global_int(t, "crashing_cpu", cpu)) {
		kpm_errf(t, "no symbol panic_cpu");
		return -1;
	}
	/*
	 * An oops that went to kdump without panic() (sysrq-c, say) leaves
	 * panic_cpu -1; x86 records the CPU that shut the others down for
	 * the crash kernel in crashing_cpu (arch/x86/kernel/reboot.c).
	 */
	if (*cpu == -1)
		global_int(t, "crashing_cpu", cpu);
	if (*cpu < 0) {
		kpm_errf(t, "no panic: panic_cpu is -1 (and no crashing_cpu)");
		*cpu = -1;
		return -1;
	}
	if (kpm_cpu_curr(t, *cpu, task))
		return -1;
	return kpm_task_ident(t, *task, pid, comm, commlen);
}

/*
 * One record as crash's `log` prints it (8.0.2 to 8.0.6, printk.c
 * dump_record() without -m/-d/-T/-t/-c): "[%5llu.%06lu] " then the text,
 * a newline inside it followed by as many spaces as the timestamp took,
 * bytes that are neither printable ASCII nor white space printed as '.'.
 */
void kpm_log_print(FILE *fp, const char *indent, const struct kpm_log_record *r)
{
	char ts[48];
	size_t i;
	int ilen;

	ilen = snprintf(ts, sizeof(ts), "[%5" PRIu64 ".%06" PRIu64 "] ",
			r->ts_nsec / 1000000000, r->ts_nsec % 1000000000 / 1000);
	fputs(indent, fp);
	fputs(ts, fp);
	for (i = 0; i < r->len; i++) {
		unsigned char c = (unsigned char)r->text[i];

		if (c == '\n')
			fprintf(fp, "\n%s%*s", indent, ilen, "");
		else if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\v' || c == '\f' || c == '\r')
			fputc(c, fp);
		else
			fputc('.', fp);
	}
	fputc('\n', fp);
}
