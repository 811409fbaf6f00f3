#!/usr/bin/env drgn
# SPDX-License-Identifier: GPL-2.0
"""
Print kpm's NVMe report: completions the driver would reject (a controller
that completed a command twice), then every controller's queues.

  drgn -c vmcore -s vmlinux -s nvme.ko nvmeq.py [-c|-C] [-s] [-j]   # a dump
  drgn nvmeq.py [-c|-C] [-s] [-j]                                   # this system

Same options and output as crash's ``nvmeq`` (kpm.so).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kpm.nvme import NVME_ALLCQ, NVME_CQES, NVME_SQES, nvme_report  # noqa: E402
from kpm._core import KpmError  # noqa: E402

parser = argparse.ArgumentParser(prog="nvmeq.py", description=__doc__.split("\n\n")[0])
parser.add_argument("-c", action="store_true", help="decode the CQ ring around cq_head")
parser.add_argument("-C", action="store_true", help="decode every CQ slot")
parser.add_argument("-s", action="store_true", help="decode SQ entries before sq_tail")
parser.add_argument("-j", action="store_true", help="JSON output")
args = parser.parse_args()

flags = (NVME_CQES if args.c else 0) | (NVME_ALLCQ if args.C else 0) | (NVME_SQES if args.s else 0)
if args.j:
    flags |= 0x4
try:
    sys.stdout.write(nvme_report(prog, flags))  # noqa: F821 (drgn's global)
except KpmError as e:
    sys.exit(f"nvmeq: {e}")
