/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpm: snapshot targets, for fuzzing the decoders in process.
 *
 * A recording target wraps a real one (kpm-dump's, with KPM_RECORD=FILE)
 * and writes down everything the decoders asked of it: the architecture,
 * symbols, members, type sizes, enumerators, symbol_at answers, and every
 * page read, whole (or that it was not in the dump).  A snapshot target
 * answers the same questions from that file alone, so a decoder runs on it
 * exactly as on the dump, and its pages can be mutated between runs
 * (fuzz/kpm_fuzz.c).
 *
 * File format, one record per line ("-" for an absent answer), pages
 * followed by their 4096 raw bytes:
 *   A arch                      S name addr|-       T type size
 *   M type member off size bit_off bit_size|-       E name value|-
 *   Y addr name offset|-        P addr 1|0 (present) + 4096 bytes if 1
 */
#ifndef KPM_SNAPSHOT_H
#define KPM_SNAPSHOT_H

#include <stdio.h>
#include "target.h"

#define KPM_SNAP_PAGE	4096

/* Record what decoders ask of @t into @out from now on (t->ops is wrapped). */
int kpm_record_begin(struct kpm_target *t, FILE *out);
/* Stop recording; t->ops is the real target's again. */
void kpm_record_end(struct kpm_target *t);

struct kpm_snapshot;

/* Load a snapshot file: NULL with @err on failure. */
struct kpm_snapshot *kpm_snapshot_load(const char *path, char *err, size_t errlen);
void kpm_snapshot_free(struct kpm_snapshot *s);
/* A target reading the snapshot (kpm_target_done() it after use). */
void kpm_snapshot_target(struct kpm_snapshot *s, struct kpm_target *t);

/* Pages, for mutation: count, and page i's address, bytes and presence. */
long kpm_snapshot_pages(const struct kpm_snapshot *s);
uint64_t kpm_snapshot_page_addr(const struct kpm_snapshot *s, long i);
unsigned char *kpm_snapshot_page(struct kpm_snapshot *s, long i);
int *kpm_snapshot_page_present(struct kpm_snapshot *s, long i);

#endif
