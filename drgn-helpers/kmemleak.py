#!/usr/bin/env drgn
# SPDX-License-Identifier: GPL-2.0
"""
Print kpm's kmemleak report: a summary, then kmemleak's objects as
/sys/kernel/debug/kmemleak shows them, with flags, checksums (stored and
recomputed) and the allocation backtrace.

  drgn -c vmcore -s vmlinux [-s module.ko ...] kmemleak.py [options]   # a dump
  drgn kmemleak.py [options]                                          # this system

Same options and output as crash's ``kmemleak`` (kpm.so).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kpm._core import KpmError  # noqa: E402
from kpm.kmemleak import (KMEMLEAK_HEX, KMEMLEAK_LEAKS, KMEMLEAK_PERCPU,  # noqa: E402
                          KMEMLEAK_SUMMARY, _JSON, kmemleak_report)

parser = argparse.ArgumentParser(prog="kmemleak.py", description=__doc__.split("\n\n")[0])
parser.add_argument("-p", action="store_true", help="per-CPU objects only")
parser.add_argument("-l", action="store_true", help="reported leaks only")
parser.add_argument("-c", metavar="COMM", default="", help="objects allocated by COMM")
parser.add_argument("-s", metavar="MINSIZE", type=int, default=0, help="objects of at least MINSIZE bytes")
parser.add_argument("-a", metavar="ADDRESS", type=lambda v: int(v, 16), default=0,
                    help="the object containing ADDRESS (hex)")
parser.add_argument("-x", action="store_true", help="hex dump of the first 32 bytes")
parser.add_argument("-j", action="store_true", help="JSON output")
parser.add_argument("-S", action="store_true", help="summary only")
args = parser.parse_args()

flags = ((KMEMLEAK_PERCPU if args.p else 0) | (KMEMLEAK_LEAKS if args.l else 0) |
         (KMEMLEAK_HEX if args.x else 0) | (_JSON if args.j else 0) |
         (KMEMLEAK_SUMMARY if args.S else 0))
try:
    sys.stdout.write(kmemleak_report(prog, flags, comm=args.c, min_size=args.s,  # noqa: F821
                                     addr=args.a))
except KpmError as e:
    sys.exit(f"kmemleak: {e}")
