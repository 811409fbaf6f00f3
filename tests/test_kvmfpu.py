# SPDX-License-Identifier: GPL-2.0
"""kvmfpu: KVM guest FPU state and XFD (seed 003) on the kvmfpu fixtures
of both bases (host-flavour kernels): a tiny VMM runs two VMs of two vCPUs
under nested SVM; a fixtures-only module sets XFD[18] and XSTATE_BV[18]
(XTILEDATA) in one vCPU's real guest fpstate and panics.

Expected values come from the manifest (what the seeding module printed,
read with the kernel's own accessors), from crash's own p/rd on the same
dump, and from drgn's typed reads; never from kpm.
"""
import json
import re
import struct

import pytest

from conftest import BASES, crash_vtop, fixture


@pytest.fixture(scope="module", params=BASES)
def kv(request):
    return fixture(f"{request.param}-kvmfpu")


VMM = "kpm_vmm"  # the scenario's VMM binary (fixtures/vmcores/modules/kvmfpu/kpm_vmm.c)


def kpm_json(fx, *args, vmcore=None):
    rc, out, err = fx.kpm_dump(["kvmfpu", "-j", *args], vmcore=vmcore)
    assert rc == 0 and not err, err
    return json.loads(out)


def vcpus(j):
    return {int(v["addr"], 16): (vm, v) for vm in j["vms"] for v in vm["vcpus"]}


def test_names_the_seeded_vcpu(kv):
    s = kv.manifest["seeded_vcpu"]
    vms = {v["kvm"]: v for v in kv.manifest["vms"]}
    (vc,) = [v for v in kv.manifest["vcpus"] if v["vcpu"] == s["vcpu"]]
    rc, out, err = kv.kpm_dump(["kvmfpu"])
    assert rc == 0 and not err, err
    diag = out[:out.index("\n\n")].splitlines()
    assert diag[0] == "KVM GUEST FPU DIAGNOSIS"
    bad = s["xstate_bv_after"] & s["xfd_after"]
    assert bad == 1 << 18
    assert diag[1] == (
        f"  VM {s['kvm']:016x} (VMM pid {vms[s['kvm']]['userspace_pid']} \"{VMM}\") vCPU {s['vcpu_id']} "
        f"(pid {vc['pid']} \"{vc['comm']}\"): guest fpstate {vc['fpstate']:016x} has XSTATE_BV "
        f"{s['xstate_bv_after']:#x} & XFD {s['xfd_after']:#x} = {bad:#x} (XTILEDATA)"), out
    assert diag[2].startswith("    XSTATE_BV ") and "XTILEDATA" in diag[2]
    assert len(diag) == 3, "only the seeded vCPU is wrong"


def test_values_are_the_seeded_ones(kv):
    j = kpm_json(kv)
    got = vcpus(j)
    want = {v["vcpu"]: v for v in kv.manifest["vcpus"]}
    assert set(got) == set(want)
    assert {int(vm["addr"], 16) for vm in j["vms"]} == {v["kvm"] for v in kv.manifest["vms"]}
    for vm in j["vms"]:
        (m,) = [v for v in kv.manifest["vms"] if v["kvm"] == int(vm["addr"], 16)]
        assert (vm["userspace_pid"], vm["online_vcpus"]) == (m["userspace_pid"], m["online_vcpus"])
    for addr, (vm, v) in got.items():
        m = want[addr]
        f = v["fpstate"]
        assert (int(vm["addr"], 16), v["vcpu_id"], v["vcpu_idx"], v["pid"], v["comm"], v["mode"]) == (
            m["kvm"], m["vcpu_id"], m["vcpu_idx"], m["pid"], m["comm"], m["mode"])
        assert vm["comm"] == VMM
        assert int(v["xcr0"], 16) == m["xcr0"]
        g = v["guest_fpu"]
        assert (int(g["xfeatures"], 16), int(g["perm"], 16), int(g["xfd_err"], 16), g["uabi_size"],
                int(g["fpstate"], 16)) == (m["guest_fpu_xfeatures"], m["perm"], m["xfd_err"],
                                           m["uabi_size"], m["fpstate"])
        assert (f["size"], f["user_size"], int(f["xfeatures"], 16), int(f["user_xfeatures"], 16),
                int(f["xfd"], 16)) == (m["size"], m["user_size"], m["xfeatures"],
                                       m["user_xfeatures"], m["xfd"])
        assert (f["is_valloc"], f["is_guest"], f["is_confidential"], f["in_use"]) == (
            bool(m["is_valloc"]), bool(m["is_guest"]), bool(m["is_confidential"]), bool(m["in_use"]))
        assert (int(f["xstate_bv"], 16), int(f["xcomp_bv"], 16)) == (m["xstate_bv"], m["xcomp_bv"])


def test_host_cpus(kv):
    """Each CPU's fpu_fpregs_owner_ctx and xfd_state as drgn reads them (the
    module's console line is older: the CPUs went on switching tasks until
    the panic), and the owner's task: the vCPU thread whose struct fpu it
    is (the module printed each thread's), when it is one."""
    from drgn.helpers.linux.percpu import per_cpu
    prog = kv.program()
    j = kpm_json(kv)
    by_fpu = {v["task_fpu"]: v for v in kv.manifest["vcpus"]}
    got = {c["cpu"]: c for c in j["cpus"]}
    assert set(got) == {c["cpu"] for c in kv.manifest["cpus"]}
    for cpu, c in got.items():
        owner = per_cpu(prog["fpu_fpregs_owner_ctx"], cpu).value_()
        assert int(c["fpu_fpregs_owner_ctx"], 16) == owner
        assert int(c["fpstate"], 16) == (prog.read_u64(owner + prog.type("struct fpu").member("fpstate").offset)
                                         if owner else 0)
        assert int(c["xfd_state"], 16) == per_cpu(prog["xfd_state"], cpu).value_()
        if owner in by_fpu:
            v = by_fpu[owner]
            assert (c["pid"], c["comm"]) == (v["pid"], v["comm"])
    # at least one CPU's registers belonged to a vCPU thread when it panicked
    assert any(int(c["fpu_fpregs_owner_ctx"], 16) in by_fpu for c in got.values())


def test_other_vcpus_are_clean(kv):
    s = kv.manifest["seeded_vcpu"]
    j = kpm_json(kv)
    assert len(j["diagnosis"]) == 1
    for addr, (vm, v) in vcpus(j).items():
        f = v["fpstate"]
        if addr == s["vcpu"]:
            assert int(f["xstate_bv"], 16) & int(f["xfd"], 16) == 1 << 18
            assert f["xfd_names"] == "XTILEDATA"
        else:
            assert int(f["xstate_bv"], 16) & int(f["xfd"], 16) == 0
            assert int(f["xfd"], 16) == 0


def test_x_dumps_the_xsave_header(kv):
    """-x: the header bytes start with XSTATE_BV and XCOMP_BV (as read with
    the kernel's accessors by the seeding module)."""
    want = {v["vcpu"]: v for v in kv.manifest["vcpus"]}
    j = kpm_json(kv, "-x")
    for addr, (vm, v) in vcpus(j).items():
        hdr = bytes.fromhex(v["xsave_header_bytes"])
        assert struct.unpack_from("<QQ", hdr) == (want[addr]["xstate_bv"], want[addr]["xcomp_bv"])
        assert len(bytes.fromhex(v["legacy_area_bytes"])) == 512
    assert "xsave_header_bytes" not in json.dumps(kpm_json(kv))


def test_triage_includes_kvmfpu(kv):
    rc, out, err = kv.kpm_dump(["triage", "-j"])
    d = {x["name"]: x for x in json.loads(out)["decoders"]}
    assert d["kvmfpu"]["status"] == "ok" and len(d["kvmfpu"]["findings"]) == 1
    assert "(XTILEDATA)" in d["kvmfpu"]["findings"][0]["summary"]
    s = kv.manifest["seeded_vcpu"]
    data = d["kvmfpu"]["findings"][0]["data"]
    assert (int(data["kvm"], 16), int(data["vcpu"], 16), data["vcpu_id"], int(data["fpstate"], 16)) == (
        s["kvm"], s["vcpu"], s["vcpu_id"], s["fpstate"])
    assert (int(data["xstate_bv"], 16), int(data["xfd"], 16), int(data["conflict"], 16),
            data["features"]) == (s["xstate_bv_after"], s["xfd_after"], 1 << s["feature"], "XTILEDATA")


def test_crash_drgn_kpm_dump_agree(kv):
    for args in ([], ["-x"], ["-j"]):
        kv.three_front_ends("kvmfpu", args, clean=True)


def test_values_are_crash_s_own(kv):
    """fpstate members and the XSAVE header from crash's p and rd; the
    whole struct fpstate cannot be read (a guard page follows the real
    size), so each member on its own, as the kernel's own accessors do."""
    j = kpm_json(kv)
    cmds = []
    for addr, (vm, v) in sorted(vcpus(j).items()):
        fs = v["guest_fpu"]["fpstate"]
        for mem in ("size", "user_size", "xfeatures", "user_xfeatures", "xfd"):
            cmds.append(f"p/x ((struct fpstate *){fs})->{mem}")
        cmds.append(f"p/x &((struct fpstate *){fs})->regs.xsave.header")
        cmds.append(f"p/x ((struct kvm_vcpu *){addr:#x})->arch.xcr0")
        cmds.append(f"p/x ((struct kvm_vcpu *){addr:#x})->arch.guest_fpu.perm")
    out = kv.crash_sections(cmds)
    hdrs = []
    i = 0
    for addr, (vm, v) in sorted(vcpus(j).items()):
        f = v["fpstate"]
        vals = [int(re.search(r"= (0x[0-9a-f]+)", out[i + k]).group(1), 16) for k in range(5)]
        assert vals == [f["size"], f["user_size"], int(f["xfeatures"], 16), int(f["user_xfeatures"], 16),
                        int(f["xfd"], 16)]
        hdrs.append((int(re.search(r"(0x[0-9a-f]+)\s*$", out[i + 5].strip()).group(1), 16), f))
        assert int(re.search(r"= (0x[0-9a-f]+)", out[i + 6]).group(1), 16) == int(v["xcr0"], 16)
        assert int(re.search(r"= (0x[0-9a-f]+)", out[i + 7]).group(1), 16) == int(v["guest_fpu"]["perm"], 16)
        i += 8
    rd = kv.crash_sections([f"rd -64 {h:#x} 2" for h, _ in hdrs])
    for (h, f), o in zip(hdrs, rd):
        words = re.search(rf"{h:x}:\s+([0-9a-f]{{16}})\s+([0-9a-f]{{16}})", o)
        assert (int(words.group(1), 16), int(words.group(2), 16)) == (
            int(f["xstate_bv"], 16), int(f["xcomp_bv"], 16)), o


def test_drgn_helpers(kv):
    from kpm.kvm import for_each_kvm, for_each_kvm_vcpu
    prog = kv.program()
    got = {k.value_(): sorted(v.value_() for v in for_each_kvm_vcpu(k)) for k in for_each_kvm(prog)}
    want = {}
    for v in kv.manifest["vcpus"]:
        want.setdefault(v["kvm"], []).append(v["vcpu"])
    assert got == {k: sorted(v) for k, v in want.items()}
    # drgn's own typed reads agree with the manifest
    for k in for_each_kvm(prog):
        for v in for_each_kvm_vcpu(k):
            (m,) = [x for x in kv.manifest["vcpus"] if x["vcpu"] == v.value_()]
            fps = v.arch.guest_fpu.fpstate
            assert (fps.xfd.value_(), fps.regs.xsave.header.xfeatures.value_()) == (m["xfd"], m["xstate_bv"])


# hostile variants (addresses from crash's vtop)


@pytest.fixture(scope="module")
def hostile(kv):
    s = kv.manifest["seeded_vcpu"]
    (vc,) = [v for v in kv.manifest["vcpus"] if v["vcpu"] == s["vcpu"]]
    out = kv.crash_sections([f"vtop {vc['fpstate']:#x}",
                             f"p/x &((struct kvm_vcpu *){s['vcpu']:#x})->arch.guest_fpu.fpstate",
                             f"vtop {s['vcpu']:#x}"])
    field = int(re.search(r"= (0x[0-9a-f]+)", out[1]).group(1), 16)
    return {"fpstate": vc["fpstate"], "fpstate_phys": crash_vtop(out[0]),
            "field_phys": crash_vtop(out[2]) + (field - s["vcpu"])}


def test_fpstate_page_excluded(kv, hostile):
    vm = kv.variant("kvmfpu-fpstate-excluded", ["--exclude", hex(hostile["fpstate_phys"] >> 12)])
    out = kv.three_front_ends("kvmfpu", vmcore=vm)
    assert re.search(rf"^             fpstate.size: cannot read 4 bytes at {hostile['fpstate']:#x}: "
                     r"page not in dump$", out, re.M), out
    assert "nothing wrong found" in out  # the other vCPUs are still decoded, and clean
    assert len(re.findall(r"^             XSAVE header: ", out, re.M)) == 3


def test_garbage_fpstate_pointer(kv, hostile):
    phys = hostile["field_phys"]
    vm = kv.variant("kvmfpu-fpstate-garbage", ["--poke", f"{phys >> 12:#x}:{phys & 0xfff:#x}:"
                                               f"{struct.pack('<Q', 0x4141414141414141).hex()}"])
    out = kv.three_front_ends("kvmfpu", vmcore=vm)
    assert "             guest_fpu.fpstate 0x4141414141414141 is not a kernel address\n" in out, out
