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
``drgn -s vmlinux -s nvme.ko``).  Tested on Linux 6.1 and 6.12.
"""

import json
from typing import Any, Dict, Iterator, List

from drgn import Object, Program

from . import objects, run

__all__ = (
    "for_each_nvme_dev",
    "for_each_nvme_queue",
    "nvme_report",
    "nvme_bad_completions",
    "nvme_queue_state",
)


def for_each_nvme_dev(prog: Program) -> Iterator[Object]:
    """
    Iterate over every controller bound to the nvme (PCI) driver.

    :return: Iterator of ``struct nvme_dev *`` objects.
    :raises drgn.helpers.ValidationError: after the last controller
        reached, when the driver's device list is broken
    """
    return objects(prog, "nvmeq", "dev")


def for_each_nvme_queue(dev: Object) -> Iterator[Object]:
    """
    Iterate over the online queues of a controller, admin queue first.

    :param dev: ``struct nvme_dev *``
    :return: Iterator of ``struct nvme_queue *`` objects.
    """
    return objects(dev.prog_, "nvmeq", "queue", parent=dev)


def nvme_report(prog: Program, *args: str) -> str:
    """
    The text report that crash's ``nvmeq`` prints: bad completions first,
    then one line per queue.

    :param args: nvmeq's options: ``"-c"``, ``"-C"``, ``"-s"``
    """
    return run(prog, "nvmeq", *args)


def nvme_queue_state(prog: Program, *args: str) -> Dict[str, Any]:
    """
    Every controller and queue as a dict (the JSON of ``nvmeq -j``); queue
    keys are struct nvme_queue's member names.
    """
    return json.loads(run(prog, "nvmeq", "-j", *args))


def nvme_bad_completions(prog: Program) -> List[Dict[str, Any]]:
    """
    The new completion queue entries that name no live request: one dict per
    entry with ``instance``, ``qid``, ``slot``, ``command_id``, ``genctr``,
    ``tag``, ``verdict``, ``request`` (address), ``request_genctr``,
    ``request_state`` and ``duplicate_of_slot``.
    """
    return nvme_queue_state(prog)["diagnosis"]
