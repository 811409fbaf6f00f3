# SPDX-License-Identifier: GPL-2.0
"""
KVM guest FPU
-------------

The ``kpm.kvm`` module provides helpers for KVM: iterating VMs (``vm_list``)
and their vCPUs (``kvm->vcpu_array``) on x86 and arm64, and, on x86, the
guest FPU state
KVM holds for each vCPU: ``struct fpu_guest``, the guest ``struct fpstate``
(whose ``xfd`` is the guest's XFD) and its XSAVE header.  A guest fpstate
whose XSTATE_BV has a feature its XFD disables makes the host's XRSTOR
raise #NM (fixed by b45f72177594).  The walking and the judging are done
by kpm's C decoder core, the same code crash's ``kvmfpu`` runs.

Needs kvm's debug info (``drgn -s vmlinux -s kvm.ko``).  Tested on Linux
6.1 and 6.12.
"""

import json
from typing import Any, Dict, Iterator, List

from drgn import Object, Program

from . import objects, run

__all__ = (
    "for_each_kvm",
    "for_each_kvm_vcpu",
    "kvmfpu_report",
    "kvmfpu_state",
    "kvmfpu_findings",
)


def for_each_kvm(prog: Program) -> Iterator[Object]:
    """
    Iterate over every VM on ``vm_list``.

    :return: Iterator of ``struct kvm *`` objects.
    :raises drgn.helpers.ValidationError: after the last VM reached, when
        the list is broken
    """
    # kvmfpu's iterators are kpm's KVM walk, which serves every architecture
    return objects(prog, "kvmfpu", "kvm")


def for_each_kvm_vcpu(kvm: Object) -> Iterator[Object]:
    """
    Iterate over the vCPUs of a VM (``kvm->vcpu_array``), by index.

    :param kvm: ``struct kvm *``
    :return: Iterator of ``struct kvm_vcpu *`` objects.
    """
    return objects(kvm.prog_, "kvmfpu", "vcpu", parent=kvm)


def kvmfpu_report(prog: Program, *args: str) -> str:
    """
    The text report that crash's ``kvmfpu`` prints.

    :param args: kvmfpu's options: ``"-x"``
    """
    return run(prog, "kvmfpu", *args)


def kvmfpu_state(prog: Program, *args: str) -> Dict[str, Any]:
    """
    Everything ``kvmfpu -j`` prints, as a dict: ``diagnosis``, ``vms`` (with
    their ``vcpus``, each with ``guest_fpu`` and ``fpstate``) and ``cpus``.
    """
    return json.loads(run(prog, "kvmfpu", "-j", *args))


def kvmfpu_findings(prog: Program) -> List[Dict[str, Any]]:
    """What is wrong: one dict per finding, with ``finding`` and ``detail``."""
    return kvmfpu_state(prog)["diagnosis"]
