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

from .nvme import _core

__all__ = (
    "KMEMLEAK_PERCPU",
    "KMEMLEAK_LEAKS",
    "KMEMLEAK_HEX",
    "KMEMLEAK_SUMMARY",
    "for_each_kmemleak_object",
    "kmemleak_report",
    "kmemleak_objects",
    "kmemleak_leaks",
)

# Filter flags of kpm_kmemleak_report() (core/kmemleak.h).
KMEMLEAK_PERCPU = 0x01
KMEMLEAK_LEAKS = 0x02
_COMM = 0x04
_MINSIZE = 0x08
_ADDR = 0x10
KMEMLEAK_HEX = 0x20
_JSON = 0x40
KMEMLEAK_SUMMARY = 0x80


def for_each_kmemleak_object(prog: Program) -> Iterator[Object]:
    """
    Iterate over every object on kmemleak's object_list.

    :return: Iterator of ``struct kmemleak_object *`` objects.
    """
    for addr in _core(prog).kmemleak_objects():
        yield Object(prog, "struct kmemleak_object *", value=addr)


def kmemleak_report(prog: Program, flags: int = 0, comm: str = "", min_size: int = 0,
                    addr: int = 0) -> str:
    """
    The text report crash's ``kmemleak`` prints: a summary, then each selected
    object as /sys/kernel/debug/kmemleak would show it, with its flags,
    count/min_count, stored and recomputed checksum and backtrace.

    :param flags: ``KMEMLEAK_PERCPU``, ``KMEMLEAK_LEAKS``, ``KMEMLEAK_HEX``,
        ``KMEMLEAK_SUMMARY``
    :param comm: only objects allocated by this comm
    :param min_size: only objects of at least this many bytes
    :param addr: only the object whose block contains this address
    """
    if comm:
        flags |= _COMM
    if min_size:
        flags |= _MINSIZE
    if addr:
        flags |= _ADDR
    return _core(prog).kmemleak_report(flags, comm, min_size, addr)


def kmemleak_objects(prog: Program, flags: int = 0, **kw: Any) -> Dict[str, Any]:
    """
    The JSON of ``kmemleak -j``: ``summary`` and ``objects`` (dicts keyed by
    struct kmemleak_object's members, plus ``backtrace``, ``checksum_recomputed``,
    ``kind`` and, with ``KMEMLEAK_HEX``, ``hexdump``).
    """
    return json.loads(kmemleak_report(prog, flags | _JSON, **kw))


def kmemleak_leaks(prog: Program, percpu_only: bool = False) -> List[Dict[str, Any]]:
    """The objects kmemleak reported as leaks (OBJECT_REPORTED)."""
    flags = KMEMLEAK_LEAKS | KMEMLEAK_HEX | (KMEMLEAK_PERCPU if percpu_only else 0)
    return kmemleak_objects(prog, flags)["objects"]
