# SPDX-License-Identifier: GPL-2.0
"""
kmemleak
--------

The ``kpm.kmemleak`` module provides helpers for kmemleak's own bookkeeping
(mm/kmemleak.c): every tracked allocation's ``struct kmemleak_object``, the
leaks kmemleak reported, and per-CPU leaks (tracked since v6.12, or with
kpm's 6.1 backport of 39042079a0c2 and 6c99d4eb7c5e).  After a crash,
/sys/kernel/debug/kmemleak is gone; these helpers read the same objects out
of the dump, recompute their checksums and symbolize their allocation
backtraces from the stack depot, using kpm's C decoder core (the code
crash's ``kmemleak`` command runs).
"""

import json
from typing import Any, Dict, Iterator, List

from drgn import Object, Program

from . import objects, run

__all__ = (
    "for_each_kmemleak_object",
    "kmemleak_report",
    "kmemleak_objects",
    "kmemleak_leaks",
)


def for_each_kmemleak_object(prog: Program) -> Iterator[Object]:
    """
    Iterate over every object on kmemleak's object_list.

    :return: Iterator of ``struct kmemleak_object *`` objects.
    :raises drgn.helpers.ValidationError: after the last object reached,
        when object_list is broken (a cycle, an unreadable entry)
    """
    return objects(prog, "kmemleak", "object")


def kmemleak_report(prog: Program, *args: str) -> str:
    """
    The text report crash's ``kmemleak`` prints: a summary, then each selected
    object as /sys/kernel/debug/kmemleak would show it, with its flags,
    count/min_count, stored and recomputed checksum and backtrace.

    :param args: kmemleak's options, e.g. ``"-l", "-p", "-x"``,
        ``"-c", "insmod"``, ``"-s", "2048"``, ``"-a", "ffff8880..."``
    """
    return run(prog, "kmemleak", *args)


def kmemleak_objects(prog: Program, *args: str) -> Dict[str, Any]:
    """
    The JSON of ``kmemleak -j``: ``summary`` and ``objects`` (dicts keyed by
    struct kmemleak_object's members, plus ``backtrace``, ``checksum_recomputed``,
    ``kind`` and, with ``"-x"``, ``hexdump``).
    """
    return json.loads(run(prog, "kmemleak", "-j", *args))


def kmemleak_leaks(prog: Program, percpu_only: bool = False) -> List[Dict[str, Any]]:
    """The objects kmemleak reported as leaks (OBJECT_REPORTED)."""
    return kmemleak_objects(prog, "-l", "-x", *(["-p"] if percpu_only else []))["objects"]
