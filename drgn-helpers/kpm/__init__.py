# SPDX-License-Identifier: GPL-2.0
"""
kpm: kernel post-mortem decoders for drgn (vmcores and /proc/kcore).

Every decoder lives in kpm's C core and declares itself there once (name,
options, help, object iterators); this package runs them by name:

    >>> import kpm
    >>> print(kpm.run(prog, "nvmeq", "-c"))
    >>> for q in kpm.objects(prog, "nvmeq", "queue", parent=dev): ...
    >>> kpm.decoders()                     # {name: summary}

Subsystem modules (``kpm.nvme``, ``kpm.kmemleak``) add drgn-style helpers
(``for_each_*`` generators of drgn Objects) on top.
"""

from typing import Dict, Iterator, Optional

from drgn import Object, Program
from drgn.helpers import ValidationError

from ._core import (Core, KpmError, UsageError, decoders, help_text, object_kinds, set_dump_path,
                    usage_text)

__all__ = (
    "KpmError",
    "UsageError",
    "ValidationError",
    "core",
    "decoders",
    "help_text",
    "objects",
    "run",
    "run_to",
    "set_dump_path",
    "usage_text",
)


def core(prog: Program) -> Core:
    """The C core bound to @prog (one per Program, cached)."""
    c = prog.cache.get("kpm_core")
    if c is None:
        c = prog.cache["kpm_core"] = Core(prog)
    return c


def run(prog: Program, name: str, *args: str) -> str:
    """
    Run a kpm command, with the same options and output as crash's command
    of that name and kpm-dump's.

    :param name: a decoder's name (``kpm.decoders()``), e.g. ``"nvmeq"``
    :param args: its options, as on crash's command line: ``"-c", "-s"``
    :raises UsageError: the options were refused (the message names which)
    :raises KpmError: the decoder could not run
    """
    return core(prog).run([name, *args])


def run_to(file, prog: Program, name: str, *args: str) -> None:
    """
    Run a kpm command as :func:`run` does, writing its output to @file as it
    goes (a file object with a file descriptor, e.g. ``sys.stdout``): for
    reports too large to hold in a string, a kmemleak report of a million
    objects is about a gigabyte.  What was written before a
    :class:`KpmError` stays written.
    """
    core(prog).run_to(file, [name, *args])


def objects(prog: Program, name: str, kind: str,
            parent: Optional[Object] = None) -> Iterator[Object]:
    """
    Iterate over a decoder's objects of one kind, found by the core's walk.

    Raises :class:`drgn.helpers.ValidationError` after the last object
    reached when the walk stopped early (a cycle, an unreadable node), the
    way drgn's validate_* helpers do, instead of ending quietly with part.

    :param name: the decoder (``"nvmeq"``)
    :param kind: the kind of object (``"dev"``, ``"queue"``); the decoder's
        kinds and their C types: ``kpm._core.object_kinds(name)``
    :param parent: the object a kind is listed under (a ``struct nvme_dev *``
        for ``"queue"``)
    :return: Iterator of Objects of the kind's C type.
    """
    kinds = object_kinds(name)
    if kind not in kinds:
        raise KpmError(f"{name} has no objects of kind {kind}")
    ctype, parent_kind = kinds[kind]
    if parent_kind and parent is None:
        raise TypeError(f"{name} {kind} objects are listed under a {parent_kind}")
    addrs, err = core(prog).objects(name, kind, parent.value_() if parent is not None else 0)
    for addr in addrs:
        yield Object(prog, ctype, value=addr)
    if err:
        raise ValidationError(f"{name} {kind}: {err}")
