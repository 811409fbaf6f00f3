# SPDX-License-Identifier: GPL-2.0
"""
NVMe
----

The ``kpm.nvme`` module provides helpers for NVMe PCI controllers
(drivers/nvme/host/pci.c): iterating controllers and their queues, and
finding completion queue entries that the driver rejects because their
command id names no live request, the trace of a controller that completed
a command twice.  The walking and the judging are done by kpm's C decoder
core, the same code crash's ``nvmeq`` runs; these helpers hand the results
back as drgn Objects so that exploration can go on from them.

Works with nvme built in or as a module (load the module's debug info, e.g.
``drgn -s vmlinux -s nvme.ko``).  Tested on Linux 6.1.
"""

import json
from typing import Any, Dict, Iterator, List

from drgn import Object, Program

from ._core import Core

__all__ = (
    "NVME_CQES",
    "NVME_SQES",
    "NVME_ALLCQ",
    "for_each_nvme_dev",
    "for_each_nvme_queue",
    "nvme_report",
    "nvme_bad_completions",
    "nvme_queue_state",
)

# Flags of kpm_nvme_report() (core/nvme.h).
NVME_CQES = 0x1
NVME_SQES = 0x2
_NVME_JSON = 0x4
NVME_ALLCQ = 0x8


def _core(prog: Program) -> Core:
    core = prog.cache.get("kpm_core")
    if core is None:
        core = prog.cache["kpm_core"] = Core(prog)
    return core


def for_each_nvme_dev(prog: Program) -> Iterator[Object]:
    """
    Iterate over every controller bound to the nvme (PCI) driver.

    :return: Iterator of ``struct nvme_dev *`` objects.
    """
    for addr in _core(prog).nvme_devs():
        yield Object(prog, "struct nvme_dev *", value=addr)


def for_each_nvme_queue(dev: Object) -> Iterator[Object]:
    """
    Iterate over the online queues of a controller, admin queue first.

    :param dev: ``struct nvme_dev *``
    :return: Iterator of ``struct nvme_queue *`` objects.
    """
    prog = dev.prog_
    for addr in _core(prog).nvme_queues(dev.value_()):
        yield Object(prog, "struct nvme_queue *", value=addr)


def nvme_report(prog: Program, flags: int = 0) -> str:
    """
    The text report that crash's ``nvmeq`` prints: bad completions first,
    then one line per queue.

    :param flags: ``NVME_CQES``, ``NVME_ALLCQ`` and/or ``NVME_SQES``
    """
    return _core(prog).nvme_report(flags)


def _report_json(prog: Program, flags: int = 0) -> Dict[str, Any]:
    return json.loads(_core(prog).nvme_report(flags | _NVME_JSON))


def nvme_queue_state(prog: Program, flags: int = 0) -> Dict[str, Any]:
    """
    Every controller and queue as a dict (the JSON of ``nvmeq -j``); queue
    keys are struct nvme_queue's member names.
    """
    return _report_json(prog, flags)


def nvme_bad_completions(prog: Program) -> List[Dict[str, Any]]:
    """
    The new completion queue entries that name no live request: one dict per
    entry with ``instance``, ``qid``, ``slot``, ``command_id``, ``genctr``,
    ``tag``, ``verdict``, ``request`` (address), ``request_genctr``,
    ``request_state`` and ``duplicate_of_slot``.
    """
    return _report_json(prog)["diagnosis"]
