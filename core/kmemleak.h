/* SPDX-License-Identifier: GPL-2.0 */
/* kpm decoder: kmemleak's own bookkeeping (mm/kmemleak.c), read from a dump. */
#ifndef KPM_KMEMLEAK_H
#define KPM_KMEMLEAK_H

#include "target.h"

struct kpm_kmemleak_filter {
	unsigned int flags;
	const char *comm;	/* KPM_KML_COMM */
	uint64_t min_size;	/* KPM_KML_MINSIZE */
	uint64_t addr;		/* KPM_KML_ADDR: object containing this address */
};

#define KPM_KML_PERCPU	0x01	/* per-CPU objects only */
#define KPM_KML_LEAKS	0x02	/* reported (or now unreferenced) objects only */
#define KPM_KML_COMM	0x04
#define KPM_KML_MINSIZE	0x08
#define KPM_KML_ADDR	0x10
#define KPM_KML_HEX	0x20	/* hex dump of the first bytes (per CPU) */
#define KPM_KML_JSON	0x40
#define KPM_KML_SUMMARY	0x80	/* summary only */

/* Print the summary and the selected objects; returns the number of
 * objects printed, or -1 (target's err says why). */
long kpm_kmemleak_report(struct kpm_target *t, FILE *fp,
			 const struct kpm_kmemleak_filter *f);

/* Addresses of every struct kmemleak_object on object_list. */
long kpm_kmemleak_objects(struct kpm_target *t, uint64_t *objs, long max);

#endif
