# SPDX-License-Identifier: GPL-2.0
"""
GICv4 vPEs of arm64 KVM
-----------------------

The ``kpm.vpe`` module provides helpers for the GICv4 vPEs of an arm64 KVM
host: the vPE of every vCPU (``vcpu->arch.vgic_cpu.vgic_v3.its_vpe``), its
residency and its doorbell interrupt.  A vCPU blocked in WFI whose vPE is
non-resident with its doorbell disabled sleeps through the vLPIs sent to it
(the bug b321c31c9b7b fixes).  The walking and the judging are done by
kpm's C decoder core, the same code crash's ``vpe`` runs.  VMs and vCPUs
come from :func:`kpm.kvm.for_each_kvm` and
:func:`kpm.kvm.for_each_kvm_vcpu`, which serve every architecture.

Tested on Linux 6.1 and 6.12 (arm64).
"""

import json
from typing import Any, Dict, Iterator, List

from drgn import Object, Program

from . import objects, run

__all__ = (
    "for_each_vgic_vpe",
    "vpe_report",
    "vpe_state",
    "vpe_findings",
)


def for_each_vgic_vpe(kvm: Object) -> Iterator[Object]:
    """
    Iterate over the GICv4 vPEs of a VM's vCPUs, in vCPU order: each
    vCPU's ``vcpu->arch.vgic_cpu.vgic_v3.its_vpe``.

    :param kvm: ``struct kvm *``
    :return: Iterator of ``struct its_vpe *`` objects.
    """
    return objects(kvm.prog_, "vpe", "vpe", parent=kvm)


def vpe_report(prog: Program) -> str:
    """The text report that crash's ``vpe`` prints."""
    return run(prog, "vpe")


def vpe_state(prog: Program) -> Dict[str, Any]:
    """
    Everything ``vpe -j`` prints, as a dict: ``diagnosis`` and ``vms`` (each
    with ``its_vm`` and its ``vcpus``, each with ``its_vpe`` and
    ``doorbell``).
    """
    return json.loads(run(prog, "vpe", "-j"))


def vpe_findings(prog: Program) -> List[Dict[str, Any]]:
    """What is wrong: one dict per finding, with ``finding`` and ``details``."""
    return vpe_state(prog)["diagnosis"]
