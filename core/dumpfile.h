/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpm: a dump file's structure, checked before a library reads it
 * (core/dumpfile.c).
 */
#ifndef KPM_DUMPFILE_H
#define KPM_DUMPFILE_H

#include <stddef.h>

/*
 * 0 when @path is a kdump-compressed or ELF vmcore whose header, bitmaps,
 * notes, page descriptors and page data (or program headers and segments)
 * lie inside the file and are sane, or is not a regular file (/proc/kcore);
 * 1 when it is usable but cut short: pages whose data lies past the end of
 * the file read as missing (@err says how many); 2 when it is cut short
 * and the data of a page begins before the end of the file's last page
 * and ends after it, so that a reader that maps the file (libkdumpfile
 * with its default file.mmap_policy) dies of SIGBUS when it reads that
 * page; else -1 with one line in @err saying what is wrong with the file.
 */
int kpm_dumpfile_check(const char *path, char *err, size_t errlen);

/*
 * The erase info of a dump that makedumpfile filtered (--config): the
 * kdump sub-header's eraseinfo or an ELF vmcore's "ERASEINFO" note, a
 * malloc'd string of "erase ..." lines; NULL when the dump has none (or
 * cannot be read: kpm_dumpfile_check() says why).
 */
char *kpm_dumpfile_eraseinfo(const char *path);

#endif
