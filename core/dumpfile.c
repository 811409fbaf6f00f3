// SPDX-License-Identifier: GPL-2.0
/*
 * kpm: check a dump file's structure before a library reads it.
 *
 * libkdumpfile 0.5.1 (bookworm) trusts the file: it maps the bitmaps and
 * the note segment at the sizes the header gives, so a file cut inside
 * the bitmaps, or a sub-header whose size_note is huge, kills the reader
 * with SIGBUS in kdump_open_fdset(), and a page descriptor whose size
 * exceeds the block size with SIGSEGV in kdump_read().  A user's dump
 * must never kill kpm: kpm-dump (and kpm_drgn.py, before it starts drgn)
 * checks here that everything the header points to is inside the file and
 * sane, and says what is wrong with the file.
 *
 * Formats: makedumpfile's kdump-compressed format (diskdump_mod.h: header
 * block, sub-header blocks, 1st and 2nd bitmaps, page descriptors, page
 * data), its flattened format (refused: makedumpfile -R rearranges it), and
 * ELF vmcores (program headers and segments inside the file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dumpfile.h"

/* struct disk_dump_header (LP64): offsets of the members checked */
#define DH_SIGNATURE		0
#define DH_HEADER_VERSION	8
#define DH_BLOCK_SIZE		428
#define DH_SUB_HDR_SIZE		432
#define DH_BITMAP_BLOCKS	436
#define DH_MAX_MAPNR		440
#define DH_SIZE			464
/* struct kdump_sub_header (LP64) */
#define SH_OFFSET_VMCOREINFO	32
#define SH_SIZE_VMCOREINFO	40
#define SH_OFFSET_NOTE		48
#define SH_SIZE_NOTE		56
#define SH_OFFSET_ERASEINFO	64
#define SH_SIZE_ERASEINFO	72
#define SH_MAX_MAPNR_64		96
#define SH_SIZE			104
/* struct page_desc: offset, size, flags, page_flags */
#define PD_SIZE			24
/* DUMP_DH_COMPRESSED_ZLIB, _LZO, _SNAPPY, _INCOMPLETE, _EXCLUDED, _ZSTD */
#define PD_FLAGS_KNOWN		(0x1 | 0x2 | 0x4 | 0x10 | 0x20 | 0x40)

#define MAX_NOTES	(64ULL << 20)	/* notes and VMCOREINFO: a few KB in practice */
#define CHUNK		(1 << 16)

struct df {
	int fd;
	uint64_t size;
	char *err;
	size_t errlen;
};

static int fail(struct df *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, f->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int pread_all(struct df *f, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* [off, off + len) inside the file; names @what in the error */
static int inside(struct df *f, uint64_t off, uint64_t len, const char *what)
{
	if (off > f->size || len > f->size - off)
		return fail(f, "truncated or corrupt: %s, %" PRIu64 " bytes at offset %" PRIu64
			    ", goes past the end of the file (%" PRIu64 " bytes)", what, len, off, f->size);
	return 0;
}

/*
 * A region the sub-header points to (offset and size members): absent
 * (size 0), or inside the file and, with @max, at most @max bytes.
 */
static int sub_region(struct df *f, const unsigned char *sh, int off_at, int size_at, uint64_t max,
		      const char *size_name, const char *what)
{
	uint64_t size = le64(sh + size_at);

	if (!size)
		return 0;
	if (max && size > max)
		return fail(f, "corrupt kdump sub-header: %s %" PRIu64, size_name, size);
	return inside(f, le64(sh + off_at), size, what);
}

static int check_kdump(struct df *f, const unsigned char *h)
{
	unsigned char sh[SH_SIZE], *buf;
	uint32_t version = le32(h + DH_HEADER_VERSION);
	int32_t block = (int32_t)le32(h + DH_BLOCK_SIZE), sub = (int32_t)le32(h + DH_SUB_HDR_SIZE);
	uint32_t bitmap_blocks = le32(h + DH_BITMAP_BLOCKS);
	uint64_t max_mapnr = le32(h + DH_MAX_MAPNR), bm, bm_half, descs, n = 0, i, pfn, last_end;
	uint64_t beyond = 0, first = 0, crossing = 0, file_end;
	long pagesz = sysconf(_SC_PAGESIZE);

	if (block < 512 || block > 65536 || (block & (block - 1)))
		return fail(f, "corrupt kdump header: block_size %d is not a page size", block);
	if (sub < 0 || sub > 1024)
		return fail(f, "corrupt kdump header: sub_hdr_size %d blocks", sub);
	if (!bitmap_blocks || bitmap_blocks % 2)
		return fail(f, "corrupt kdump header: bitmap_blocks %u (two bitmaps of equal size)",
			    bitmap_blocks);
	/* libkdumpfile refuses both (and drgn 0.0.22 then dies in kdump_free()) */
	if ((int32_t)version < 0)
		return fail(f, "corrupt kdump header: header_version %d", (int32_t)version);
	bm = (uint64_t)(1 + sub) * block;
	bm_half = (uint64_t)bitmap_blocks * block / 2;
	if (max_mapnr > bm_half * 8)
		return fail(f, "corrupt kdump header: max_mapnr %" PRIu64 " exceeds the bitmaps (%" PRIu64 " pages)",
			    max_mapnr, bm_half * 8);
	if (inside(f, 0, bm, "the header and sub-header") ||
	    inside(f, bm, 2 * bm_half, "the page bitmaps"))
		return -1;
	if (sub > 0 && version >= 2) {
		if (pread_all(f, sh, sizeof(sh), block))
			return fail(f, "cannot read the kdump sub-header: %s", strerror(errno ? errno : EIO));
		if ((version >= 3 && sub_region(f, sh, SH_OFFSET_VMCOREINFO, SH_SIZE_VMCOREINFO, MAX_NOTES,
						 "size_vmcoreinfo", "VMCOREINFO")) ||
		    (version >= 4 && sub_region(f, sh, SH_OFFSET_NOTE, SH_SIZE_NOTE, MAX_NOTES,
						 "size_note", "the ELF notes")) ||
		    (version >= 5 && sub_region(f, sh, SH_OFFSET_ERASEINFO, SH_SIZE_ERASEINFO, 0,
						 "size_eraseinfo", "the erase info")))
			return -1;
		if (version >= 6)
			max_mapnr = le64(sh + SH_MAX_MAPNR_64);
	}
	if (max_mapnr > bm_half * 8)
		return fail(f, "corrupt kdump header: max_mapnr %" PRIu64 " exceeds the bitmaps (%" PRIu64 " pages)",
			    max_mapnr, bm_half * 8);
	/* dumpable pages: the 2nd bitmap's bits below max_mapnr */
	buf = malloc(CHUNK);
	if (!buf)
		return fail(f, "out of memory");
	for (pfn = 0; pfn < max_mapnr; pfn += (uint64_t)CHUNK * 8) {
		uint64_t bytes = (max_mapnr - pfn + 7) / 8;

		if (bytes > CHUNK)
			bytes = CHUNK;
		if (pread_all(f, buf, bytes, bm + bm_half + pfn / 8)) {
			free(buf);
			return fail(f, "cannot read the 2nd bitmap");
		}
		for (i = 0; i < bytes; i++) {
			unsigned char b = buf[i];

			if (pfn + i * 8 + 8 > max_mapnr)
				b &= (1u << (max_mapnr - pfn - i * 8)) - 1;
			n += __builtin_popcount(b);
		}
	}
	descs = bm + 2 * bm_half;
	if (inside(f, descs, n * PD_SIZE, "the page descriptor table")) {
		free(buf);
		return -1;
	}
	/*
	 * every descriptor: data after the table, at most a block; data past
	 * the end of a cut file reads as missing (libkdumpfile's reads fail
	 * cleanly there), so such pages are counted, not refused.  But
	 * libkdumpfile maps the file: a page whose data begins before the end
	 * of the file's last (system) page and ends after it kills it with
	 * SIGBUS when read, unless it is told not to map the file
	 * (file.mmap_policy): status 2.
	 */
	if (pagesz <= 0)
		pagesz = 4096;
	file_end = (f->size + pagesz - 1) / pagesz * pagesz;
	last_end = descs + n * PD_SIZE;
	for (i = 0; i < n; i++) {
		const unsigned char *d;
		uint64_t off, size, flags;

		if (i % (CHUNK / PD_SIZE) == 0) {
			uint64_t cnt = n - i < CHUNK / PD_SIZE ? n - i : CHUNK / PD_SIZE;

			if (pread_all(f, buf, cnt * PD_SIZE, descs + i * PD_SIZE)) {
				free(buf);
				return fail(f, "cannot read the page descriptor table");
			}
		}
		d = buf + (i % (CHUNK / PD_SIZE)) * PD_SIZE;
		off = le64(d);
		size = le32(d + 8);
		flags = le32(d + 12);
		/* never written: an incomplete dump (makedumpfile ran out of space) */
		if (!off && !size)
			continue;
		if (!size || size > (uint64_t)block || (flags & ~(uint64_t)PD_FLAGS_KNOWN) || off < last_end) {
			free(buf);
			return fail(f, "corrupt page descriptor %" PRIu64 " of %" PRIu64 ": offset %" PRIu64
				    ", size %" PRIu64 " (block size %d), flags 0x%" PRIx64, i, n, off, size, block, flags);
		}
		if (off > f->size || size > f->size - off) {
			if (!beyond++)
				first = i;
			if (off < file_end && off + size > file_end)
				crossing++;
		}
	}
	free(buf);
	if (beyond) {
		fail(f, "truncated: %" PRIu64 " of its %" PRIu64 " pages (from page descriptor %" PRIu64
		     ") lie beyond the end of the file (%" PRIu64 " bytes) and read as missing",
		     beyond, n, first, f->size);
		return crossing ? 2 : 1;
	}
	return 0;
}

static int check_elf(struct df *f, const unsigned char *h)
{
	unsigned char ph[56];
	uint64_t phoff, i;
	unsigned int phentsize, phnum;

	if (h[4] != 2 || h[5] != 1)
		return fail(f, "not a 64-bit little-endian ELF vmcore");
	phoff = le64(h + 32);
	phentsize = h[54] | h[55] << 8;
	phnum = h[56] | h[57] << 8;
	if (phentsize != sizeof(ph))
		return fail(f, "corrupt ELF header: e_phentsize %u", phentsize);
	if (inside(f, phoff, (uint64_t)phnum * phentsize, "the ELF program headers"))
		return -1;
	for (i = 0; i < phnum; i++) {
		char what[64];

		if (pread_all(f, ph, sizeof(ph), phoff + i * sizeof(ph)))
			return fail(f, "cannot read ELF program header %" PRIu64, i);
		/* PT_LOAD 1, PT_NOTE 4 */
		if (le32(ph) != 1 && le32(ph) != 4)
			continue;
		snprintf(what, sizeof(what), "ELF segment %" PRIu64 " (%s)", i, le32(ph) == 1 ? "PT_LOAD" : "PT_NOTE");
		if (inside(f, le64(ph + 8), le64(ph + 32), what))
			return -1;
	}
	return 0;
}

int kpm_dumpfile_check(const char *path, char *err, size_t errlen)
{
	unsigned char h[DH_SIZE];
	struct stat st;
	struct df f = { -1, 0, err, errlen };
	int ret;

	if (errlen)
		err[0] = 0;
	f.fd = open(path, O_RDONLY);
	if (f.fd < 0 || fstat(f.fd, &st)) {
		ret = fail(&f, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {	/* /proc/kcore, a pipe: nothing to check */
		ret = 0;
		goto out;
	}
	f.size = st.st_size;
	memset(h, 0, sizeof(h));
	if (pread(f.fd, h, sizeof(h), 0) < 0) {
		ret = fail(&f, "%s", strerror(errno));
		goto out;
	}
	if (!memcmp(h, "KDUMP   ", 8)) {
		ret = f.size < DH_SIZE ? fail(&f, "truncated: %" PRIu64 " bytes, inside the kdump header", f.size)
				       : check_kdump(&f, h);
	} else if (!memcmp(h, "makedumpfile", 12)) {
		ret = fail(&f, "makedumpfile's flattened format: rearrange it first (makedumpfile -R NEWFILE < FILE)");
	} else if (!memcmp(h, "\177ELF", 4)) {
		ret = f.size < 64 ? fail(&f, "truncated: %" PRIu64 " bytes, inside the ELF header", f.size)
				  : check_elf(&f, h);
	} else {
		ret = fail(&f, "not a vmcore: neither kdump-compressed (\"KDUMP   \") nor ELF");
	}
out:
	if (f.fd >= 0)
		close(f.fd);
	return ret;
}

#define MAX_ERASEINFO	(1 << 20)

/* "erase ..." lines: what makedumpfile writes, printable, NUL-terminated */
static char *eraseinfo_text(struct df *f, uint64_t off, uint64_t size)
{
	char *text;
	uint64_t i;

	if (!size || size > MAX_ERASEINFO || off > f->size || size > f->size - off)
		return NULL;
	text = malloc(size + 1);
	if (!text || pread_all(f, text, size, off)) {
		free(text);
		return NULL;
	}
	text[size] = 0;
	/* an ELF note's descriptor is padded with NULs */
	for (i = 0; i < size && text[i]; i++)
		if (text[i] != '\n' && text[i] != '\t' && (text[i] < ' ' || text[i] > '~'))
			text[i] = '?';
	return text;
}

/* The descriptor of the first "ERASEINFO" note in PT_NOTE segments. */
static char *elf_eraseinfo(struct df *f, const unsigned char *h)
{
	unsigned char ph[56], nh[12 + 12];
	uint64_t phoff = le64(h + 32), i, off, end;
	unsigned int phnum = h[56] | h[57] << 8;

	for (i = 0; i < phnum; i++) {
		if (pread_all(f, ph, sizeof(ph), phoff + i * sizeof(ph)) || le32(ph) != 4)
			continue;
		off = le64(ph + 8);
		end = off + le64(ph + 32);
		if (end < off || end > f->size)
			continue;
		while (off + 12 <= end) {
			uint32_t namesz, descsz;
			uint64_t name_off, desc_off;

			if (pread_all(f, nh, sizeof(nh), off))
				break;
			namesz = le32(nh);
			descsz = le32(nh + 4);
			name_off = off + 12;
			desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
			if (desc_off + descsz > end)
				break;
			if (namesz == 10 && !memcmp(nh + 12, "ERASEINFO", 10))
				return eraseinfo_text(f, desc_off, descsz);
			off = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		}
	}
	return NULL;
}

char *kpm_dumpfile_eraseinfo(const char *path)
{
	unsigned char h[DH_SIZE], sh[SH_SIZE];
	struct stat st;
	char err[8];
	struct df f = { -1, 0, err, sizeof(err) };
	char *text = NULL;

	f.fd = open(path, O_RDONLY);
	if (f.fd < 0)
		return NULL;
	if (fstat(f.fd, &st) || !S_ISREG(st.st_mode))
		goto out;
	f.size = st.st_size;
	if (pread_all(&f, h, sizeof(h), 0))
		goto out;
	if (!memcmp(h, "KDUMP   ", 8)) {
		int32_t block = (int32_t)le32(h + DH_BLOCK_SIZE), sub = (int32_t)le32(h + DH_SUB_HDR_SIZE);

		if ((int32_t)le32(h + DH_HEADER_VERSION) >= 5 && sub > 0 && block >= 512 && block <= 65536 &&
		    !pread_all(&f, sh, sizeof(sh), block))
			text = eraseinfo_text(&f, le64(sh + SH_OFFSET_ERASEINFO), le64(sh + SH_SIZE_ERASEINFO));
	} else if (!memcmp(h, "\177ELF", 4) && h[4] == 2 && h[5] == 1) {
		text = elf_eraseinfo(&f, h);
	}
out:
	close(f.fd);
	return text;
}
