/* SPDX-License-Identifier: GPL-2.0 */
/* kpm decoder: NVMe PCI controllers, their queues, and bad completions. */
#ifndef KPM_NVME_H
#define KPM_NVME_H

#include "target.h"

#define KPM_NVME_CQES	0x1	/* decode the CQ ring around cq_head */
#define KPM_NVME_SQES	0x2	/* decode the SQ ring before sq_tail */
#define KPM_NVME_JSON	0x4
#define KPM_NVME_ALLCQ	0x8	/* every CQ slot, not a window */

/* Print the report (diagnosis first) for every controller; returns the
 * number of bad completions found, or -1 if no controller could be read. */
int kpm_nvme_report(struct kpm_target *t, FILE *fp, unsigned int flags);

/* Addresses for front ends that hand out their own objects (drgn). */
long kpm_nvme_devs(struct kpm_target *t, uint64_t *devs, long max);
long kpm_nvme_queues(struct kpm_target *t, uint64_t dev, uint64_t *queues, long max);

#endif
