# SPDX-License-Identifier: GPL-2.0
"""vpe: arm64 KVM GICv4 vPEs (seed 002) on the arm64 fixtures of each base.

crash for arm64 (Debian's crash:arm64 under qemu-user, kpm.so built with
aarch64-linux-gnu-gcc), drgn and kpm-dump must print the same report.  The
expected values come from the manifests (what kpm_vpe_seed printed from
the kernel's own structures before the panic) and from crash's own
`struct its_vpe`, `struct irq_desc` and `p` of the same dump; drgn's typed
reads check the drgn helpers.  crash starts slowly under qemu-user, so all
its commands of a fixture run in one session.
"""
import json
import os
import re

import pytest

from conftest import BASES, crash_members, crash_vtop, fixture, same_as_crash


def first_difference(a, b):
    """The first differing line of two long reports (pytest's own diff of
    megabytes of text takes minutes)."""
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines())):
        if x != y:
            return f"line {i}: {x!r} != {y!r}"
    return f"lengths {len(a)} != {len(b)}"

SCENARIOS = ("blocked-with-doorbell", "lost-doorbell")


def crash_commands(fx):
    """Every crash command the tests need, in one list."""
    # crash calls triage "kpm"
    cmds = ["vpe", "vpe -j", "kpm vpe kvmfpu", "kmemleak"]
    if fx.manifest["scenario"] == "lost-doorbell":
        cmds.append(f"vtop {fx.manifest['seeded_vcpu']['irq_desc']:#x}")
    for v in fx.manifest["vcpus"]:
        cmds += [f"struct its_vpe {v['its_vpe']:#x}",
                 f"struct irq_desc.depth,core_internal_state__do_not_mess_with_it {v['irq_desc']:#x}",
                 f"p ((struct irq_desc *){v['irq_desc']:#x})->irq_common_data.state_use_accessors",
                 f"p ((struct kvm_vcpu *){v['vcpu']:#x})->arch.sflags"]
    return cmds


class Run:
    """One fixture: crash's session, drgn's and kpm-dump's outputs."""

    def __init__(self, fx):
        self.fx = fx
        self.cmds = crash_commands(fx)
        self.crash = dict(zip(self.cmds, fx.crash_sections(self.cmds)))

    def front_ends(self, command, *args):
        c = self.crash[" ".join([command, *args])]
        drc, d, err = self.fx.drgn(list(args), script=f"{command}.py")
        assert drc == 0 and "Traceback" not in err, err
        krc, k, kerr = self.fx.kpm_dump([command, *args])
        assert krc == 0, kerr
        return c, d, k


_runs = {}


@pytest.fixture(scope="module", params=[(b, s) for b in BASES for s in SCENARIOS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def run(request):
    name = f"{request.param[0]}-{request.param[1]}"
    if name not in _runs:
        _runs[name] = Run(fixture(name))
    return _runs[name]


def vcpu_of(state, kvm, vcpu_id):
    (vm,) = [vm for vm in state["vms"] if int(vm["addr"], 16) == kvm]
    (v,) = [v for v in vm["vcpus"] if v["vcpu_id"] == vcpu_id]
    return vm, v


def test_arch_is_arm64(run):
    assert run.fx.arch == "arm64" and run.fx.kernel["arch"] == "arm64"


def test_three_front_ends_agree(run):
    for args in ((), ("-j",)):
        c, d, k = run.front_ends("vpe", *args)
        same = c.strip() == d.strip() == k.strip()
        assert same, (args, first_difference(c, k), first_difference(d, k))


def test_diagnosis(run):
    """lost-doorbell: exactly the seeded vCPU, named with its VMM, thread,
    vPE, irq and depth; blocked-with-doorbell: nothing wrong."""
    m = run.fx.manifest
    out = run.crash["vpe"]
    diag = out.split("\n\n")[0]
    findings = re.findall(r"^  (VM .*)$", diag, flags=re.M)
    if run.fx.manifest["scenario"] == "blocked-with-doorbell":
        assert "nothing wrong found" in diag and not findings, diag
        return
    s = m["seeded_vcpu"]
    (v,) = [v for v in m["vcpus"] if v["vcpu"] == s["vcpu"]]
    pid = m["vmm_ready"]["pid"]
    assert findings == [
        f"VM {s['kvm']:016x} (VMM pid {pid} \"kpm_vmm_arm64\") vCPU {s['vcpu_id']} (pid {v['pid']} "
        f"\"{v['comm']}\"): blocked in WFI, vPE {v['vpe_id']} non-resident with its doorbell disabled "
        f"(irq {s['irq']}, LPI {v['vpe_db_lpi']}, depth {s['depth_after']}): a vLPI for this vCPU will "
        f"not wake it"], diag


def test_every_vcpu_against_the_manifest(run):
    """Every VM and vCPU of -j against what the module printed: the
    healthy ones blocked in WFI, non-resident, doorbell enabled at depth 0."""
    m = run.fx.manifest
    state = json.loads(run.crash["vpe -j"])
    assert state["has_gicv4"] is True and state["sflags_known"] is True
    assert sorted(int(vm["addr"], 16) for vm in state["vms"]) == sorted(vm["kvm"] for vm in m["vms"])
    for mvm in m["vms"]:
        (vm,) = [vm for vm in state["vms"] if int(vm["addr"], 16) == mvm["kvm"]]
        assert vm["userspace_pid"] == mvm["userspace_pid"] and vm["comm"] == "kpm_vmm_arm64"
        its = vm["its_vm"]
        assert (int(its["addr"], 16), int(its["domain"], 16), its["nr_vpes"], its["db_lpi_base"],
                its["nr_db_lpis"], int(its["vpes"], 16)) == \
            (mvm["its_vm"], mvm["domain"], mvm["nr_vpes"], mvm["db_lpi_base"], mvm["nr_db_lpis"], mvm["vpes"])
    seeded = m.get("seeded_vcpu", {}).get("vcpu")
    for mv in m["vcpus"]:
        vm, v = vcpu_of(state, mv["kvm"], mv["vcpu_id"])
        vpe, db = v["its_vpe"], v["doorbell"]
        assert (int(v["addr"], 16), v["pid"], v["comm"], v["task_state"], int(v["sflags"], 16), v["in_wfi"],
                v["mp_state"]) == (mv["vcpu"], mv["pid"], mv["comm"], mv["state"], mv["sflags"],
                                   bool(mv["in_wfi"]), mv["mp_state"])
        assert v["sflags_names"] == "IN_WFI"
        assert (int(vpe["addr"], 16), vpe["vpe_id"], vpe["resident"], vpe["ready"], vpe["pending_last"],
                vpe["col_idx"], vpe["vpe_db_lpi"], vpe["irq"], int(vpe["vpt_page"], 16)) == \
            (mv["its_vpe"], mv["vpe_id"], bool(mv["resident"]), bool(mv["ready"]), bool(mv["pending_last"]),
             mv["col_idx"], mv["vpe_db_lpi"], mv["irq"], mv["vpt_page"])
        assert (int(db["irq_desc"], 16), db["irq"], db["hwirq"], db["chip"], db["depth"],
                int(db["state_use_accessors"], 16), db["disabled"], db["masked"]) == \
            (mv["irq_desc"], mv["irq"], mv["hwirq"], mv["chip"], mv["depth"], mv["irqd_state"],
             bool(mv["irqd_disabled"]), bool(mv["irqd_masked"]))
        if mv["vcpu"] == seeded:
            assert db["disabled"] and db["depth"] == m["seeded_vcpu"]["depth_after"] == 1
        else:
            assert not db["disabled"] and db["depth"] == 0 and not vpe["resident"]


def test_values_equal_crash_struct(run):
    """kpm's values equal crash's own struct output of the same objects."""
    state = json.loads(run.crash["vpe -j"])
    for mv in run.fx.manifest["vcpus"]:
        _, v = vcpu_of(state, mv["kvm"], mv["vcpu_id"])
        s = crash_members(run.crash[f"struct its_vpe {mv['its_vpe']:#x}"])
        vpe = v["its_vpe"]
        assert (s["irq"], s["vpe_db_lpi"], s["resident"], s["ready"], s["pending_last"], s["col_idx"],
                s["vpe_id"], s["vpt_page"], s["its_vm"]) == \
            (vpe["irq"], vpe["vpe_db_lpi"], str(vpe["resident"]).lower(), str(vpe["ready"]).lower(),
             str(vpe["pending_last"]).lower(), vpe["col_idx"], vpe["vpe_id"], int(vpe["vpt_page"], 16),
             int(vpe["its_vm"], 16))
        d = crash_members(run.crash[f"struct irq_desc.depth,core_internal_state__do_not_mess_with_it "
                                    f"{mv['irq_desc']:#x}"])
        assert (d["depth"], d["core_internal_state__do_not_mess_with_it"]) == \
            (v["doorbell"]["depth"], int(v["doorbell"]["istate"], 16))
        st = re.search(r"= (\d+)", run.crash[f"p ((struct irq_desc *){mv['irq_desc']:#x})"
                                             f"->irq_common_data.state_use_accessors"]).group(1)
        assert int(st) == int(v["doorbell"]["state_use_accessors"], 16)
        sf = re.search(r"= (\d+)", run.crash[f"p ((struct kvm_vcpu *){mv['vcpu']:#x})->arch.sflags"]).group(1)
        assert int(sf) == int(v["sflags"], 16)


def test_triage(run):
    """triage: vpe's finding with its data; kvmfpu does not apply to arm64."""
    out = run.crash["kpm vpe kvmfpu"]
    assert re.search(r"^kvmfpu: not applicable: no struct fpu_guest in the debug info: not an x86 KVM host",
                     out, flags=re.M), out
    lost = run.fx.manifest["scenario"] == "lost-doorbell"
    assert re.search(r"^vpe: ok, 1 finding$" if lost else r"^vpe: nothing wrong found$", out, flags=re.M), out
    assert "(2 VMs, 4 vCPUs, 4 vPEs)" in out
    krc, k, kerr = run.fx.kpm_dump(["triage", "-j", "vpe"])
    doc = json.loads(k)
    (dec,) = [d for d in doc["decoders"] if d["name"] == "vpe"]
    if lost:
        (f,) = dec["findings"]
        s = run.fx.manifest["seeded_vcpu"]
        assert (f["data"]["kind"], int(f["data"]["vcpu"], 16), int(f["data"]["its_vpe"], 16),
                int(f["data"]["irq_desc"], 16), f["data"]["depth"]) == \
            ("blocked_without_doorbell", s["vcpu"], s["its_vpe"], s["irq_desc"], s["depth_after"])
    else:
        assert dec["findings"] == []


def test_drgn_helpers(run):
    """kpm.kvm and kpm.vpe: generators of drgn Objects, checked against
    drgn's own typed reads and the manifest."""
    from kpm.kvm import for_each_kvm, for_each_kvm_vcpu
    from kpm.vpe import for_each_vgic_vpe
    prog = run.fx.program()
    m = run.fx.manifest
    vms = list(for_each_kvm(prog))
    assert sorted(vm.value_() for vm in vms) == sorted(v["kvm"] for v in m["vms"])
    for kvm in vms:
        vcpus = list(for_each_kvm_vcpu(kvm))
        vpes = list(for_each_vgic_vpe(kvm))
        assert [str(v.type_) for v in vpes] == ["struct its_vpe *"] * len(vcpus)
        for vcpu, vpe in zip(vcpus, vpes):
            assert vpe.value_() == vcpu.arch.vgic_cpu.vgic_v3.its_vpe.address_of_().value_()
            (mv,) = [v for v in m["vcpus"] if v["vcpu"] == vcpu.value_()]
            assert (vpe.vpe_id.value_(), bool(vpe.resident), vpe.irq.value_()) == \
                (mv["vpe_id"], bool(mv["resident"]), mv["irq"])


def test_kmemleak_on_arm64(run):
    """The existing decoders run on an arm64 dump: kmemleak's report is the
    same in the three front ends, and its object count is drgn's walk of
    object_list."""
    from drgn.helpers.linux.list import list_for_each_entry
    c = run.crash["kmemleak"]
    drc, d, err = run.fx.drgn([], script="kmemleak.py")
    assert drc == 0, err
    krc, k, kerr = run.fx.kpm_dump(["kmemleak"])
    assert krc == 0, kerr
    same = same_as_crash(k, c) and d.strip() == k.strip()
    assert same, first_difference(c, k) if not same_as_crash(k, c) else first_difference(d, k)
    prog = run.fx.program()
    n = sum(1 for _ in list_for_each_entry("struct kmemleak_object", prog["object_list"].address_of_(),
                                           "object_list"))
    assert re.search(rf"\b{n} objects\b", k), k[:2000]


def test_hostile_doorbell_unreadable(run):
    """The page of the doorbells' irq_descs (crash's vtop) excluded from
    the dump: each vCPU's doorbell is one clear line, every vCPU and vPE is
    still reported, and no diagnosis is made from what was not read."""
    if run.fx.manifest["scenario"] != "lost-doorbell":
        pytest.skip("one variant per base")
    s = run.fx.manifest["seeded_vcpu"]
    phys = crash_vtop(run.crash[f"vtop {s['irq_desc']:#x}"])
    same_page = [v for v in run.fx.manifest["vcpus"] if v["irq_desc"] >> 12 == s["irq_desc"] >> 12]
    vm = run.fx.variant("nodesc", ["--exclude", hex(phys >> 12)])
    krc, k, kerr = run.fx.kpm_dump(["vpe"], vmcore=vm)
    assert krc == 0, kerr
    assert "nothing wrong found" in k.split("\n\n")[0], k
    lines = re.findall(r"^ +doorbell: .*$", k, flags=re.M)
    assert len(lines) == len(same_page) and all("page not in dump" in line for line in lines), k
    assert len(re.findall(r"^ +its_vpe [0-9a-f]{16}", k, flags=re.M)) == len(run.fx.manifest["vcpus"]), k
    drc, d, err = run.fx.drgn([], vmcore=vm, script="vpe.py")
    assert drc == 0 and d.strip() == k.strip(), err


def test_help_example_is_real_output(run):
    """vpe's help EXAMPLE is the 6.1 lost-doorbell fixture's own output."""
    if run.fx.name != "6.1-lost-doorbell":
        pytest.skip("the example is of 6.1-lost-doorbell")
    krc, helptext, _ = run.fx.kpm_dump(["help", "vpe"])
    example = helptext.split("crash> vpe\n", 1)[1].splitlines()
    lines = [line[4:] for line in example if line.startswith("    ") and line.strip() != "..."]
    assert len(lines) >= 4
    for line in lines:
        assert line in run.crash["vpe"].splitlines(), line
