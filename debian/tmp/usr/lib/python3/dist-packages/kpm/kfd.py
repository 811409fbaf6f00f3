# SPDX-License-Identifier: GPL-2.0
"""
AMD KFD
-------

The ``kpm.kfd`` module provides helpers for AMD KFD (drivers/gpu/drm/amd/
amdkfd): iterating KFD processes, including dying ones that have left
``kfd_processes_table`` but that an open /dev/kfd file or a queued release
still holds, and their per-device data (``struct kfd_process_device``),
whose ``proc_ctx_gpu_addr`` is the process context the host hands to the
MES firmware.  The walking and the judging are done by kpm's C decoder core,
the same code crash's ``kfd`` runs; these helpers hand the results back as
drgn Objects.

Needs amdgpu's debug info (``drgn -s vmlinux -s amdgpu.ko``).  Tested on
Linux 6.12.
"""

import json
from typing import Any, Dict, Iterator, List

from drgn import Object, Program

from . import objects, run

__all__ = (
    "for_each_kfd_process",
    "for_each_kfd_pdd",
    "kfd_report",
    "kfd_state",
    "kfd_findings",
)


def for_each_kfd_process(prog: Program) -> Iterator[Object]:
    """
    Iterate over every KFD process: those in ``kfd_processes_table``, then
    those that only an open /dev/kfd file holds.

    :return: Iterator of ``struct kfd_process *`` objects.
    :raises drgn.helpers.ValidationError: after the last process reached,
        when the table or the task list is broken
    """
    return objects(prog, "kfd", "process")


def for_each_kfd_pdd(process: Object) -> Iterator[Object]:
    """
    Iterate over the per-device data of a KFD process (``pdds[0..n_pdds)``).

    :param process: ``struct kfd_process *``
    :return: Iterator of ``struct kfd_process_device *`` objects.
    """
    return objects(process.prog_, "kfd", "pdd", parent=process)


def kfd_report(prog: Program, *args: str) -> str:
    """
    The text report that crash's ``kfd`` prints: the diagnosis, devices and
    their MES ring, processes and their pdds.

    :param args: kfd's options: ``"-a"``, ``"-x"``
    """
    return run(prog, "kfd", *args)


def kfd_state(prog: Program, *args: str) -> Dict[str, Any]:
    """
    Everything ``kfd -j`` prints, as a dict: ``diagnosis``, ``devices``
    (with the MES ring's frames) and ``processes`` (with their ``pdds``);
    keys are the kernel's member names.
    """
    return json.loads(run(prog, "kfd", "-j", *args))


def kfd_findings(prog: Program) -> List[Dict[str, Any]]:
    """
    What is wrong: one dict per finding, with ``finding`` and ``detail``.
    """
    return kfd_state(prog)["diagnosis"]
