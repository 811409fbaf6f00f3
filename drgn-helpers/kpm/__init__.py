# SPDX-License-Identifier: GPL-2.0
"""kpm: kernel post-mortem decoders for drgn (vmcores and /proc/kcore)."""
