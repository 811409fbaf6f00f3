# SPDX-License-Identifier: GPL-2.0
"""kfd: AMD KFD processes and MES process contexts (seed 000) on the 6.12
host-flavour fixtures: "stale" (a dying process and a new one share a
proc_ctx_gpu_addr, contexts never flushed) and "clean" (flushed).

Expected values come from the fixture's manifest (what the seeding module
and the guest printed when the dump was made), from crash's own
struct/rd on the same dump, and from amdgpu.ko's ELF symbol table; never
from kpm.  kpm-dump runs in both halves of the suite; crash 8.0.6 and drgn
0.0.31 only in the 6.12 (trixie) half.
"""
import json
import re
import struct
import subprocess

import pytest

from conftest import BASES, crash_members, crash_vtop, fixture

needs_612_tools = pytest.mark.skipif("6.12" not in BASES,
                                     reason="crash and drgn for 6.12 run in the trixie half")


@pytest.fixture(scope="module")
def stale():
    return fixture("6.12-kfd-stale")


@pytest.fixture(scope="module")
def clean():
    return fixture("6.12-kfd-clean")


def procs(fx):
    """{role: process facts} from the manifest, with the comm the guest saw."""
    comms = dict(re.findall(r"kpm-guest: holder pid=(\d+) comm=(\S+)", fx.console))
    out = {}
    for p in fx.manifest["processes"]:
        p = dict(p)
        p["comm"] = comms[str(p["pid"])]
        out[p["role"]] = p
    return out


def kpm_json(fx, *args, vmcore=None):
    rc, out, err = fx.kpm_dump(["kfd", "-j", *args], vmcore=vmcore)
    assert rc >= 0 and not err, err
    return json.loads(out)


def amdgpu_has(fx, sym):
    """Whether amdgpu.ko defines @sym (its ELF symbol table, not kpm)."""
    ko = [p for n, p in fx.modules if n == "amdgpu"][0]
    out = subprocess.run(["readelf", "-sW", ko], capture_output=True, text=True, check=True).stdout
    return re.search(rf"\s{re.escape(sym)}$", out, re.M) is not None


def test_stale_diagnosis(stale):
    p = procs(stale)
    shared = stale.manifest["done"]["shared_ctx"]
    gpu = stale.manifest["device"]["gpu_id"]
    rc, out, err = stale.kpm_dump(["kfd"])
    assert rc == 0 and not err, err
    diag = out[:out.index("\n\n")]
    old, new = p["old"], p["new"]
    assert (f"gpu_id {gpu:#x}: pasid {old['pasid']:#x} (pid {old['pid']} \"{old['comm']}\", unhashed) "
            f"and pasid {new['pasid']:#x} (pid {new['pid']} \"{new['comm']}\", hashed) share "
            f"proc_ctx_gpu_addr {shared:#x}") in diag, out
    assert f"pdd {old['pdd']:016x} (already_dequeued 1) and pdd {new['pdd']:016x} (already_dequeued 0)" in diag
    # the gone process C: its SET_SHADER_DEBUGGER frame was never flushed
    c_ctx = {f["process_context_addr"] for f in stale.manifest["mes_frames"]} - {shared, 0}
    (y,) = c_ctx
    (ssd,) = [f for f in stale.manifest["mes_frames"]
              if f["process_context_addr"] == y and f["misc_opcode"] >= 0]
    assert (f"gpu_id {gpu:#x}: MES ring dw {ssd['dw']}: SET_SHADER_DEBUGGER for process context "
            f"{y:#x} was never flushed, and no live process owns that context") in diag
    # the kernel was built from 6.12.117, which has the flush
    assert amdgpu_has(stale, "amdgpu_mes_flush_shader_debugger")
    assert "this kernel flushes MES process contexts on dequeue (amdgpu_mes_flush_shader_debugger)" in out


def test_clean_finds_nothing(clean):
    rc, out, err = clean.kpm_dump(["kfd"])
    assert rc == 0 and not err, err
    assert out.startswith("KFD DIAGNOSIS\n  nothing wrong found\n\n"), out
    p = procs(clean)
    assert p["old"]["proc_ctx_gpu_addr"] != p["new"]["proc_ctx_gpu_addr"]


@pytest.mark.parametrize("which", ["stale", "clean"])
def test_values_are_the_seeded_ones(which, request):
    fx = request.getfixturevalue(which)
    j = kpm_json(fx)
    dev = fx.manifest["device"]
    (d,) = j["devices"]
    assert (int(d["dev"], 16), int(d["id"], 16), int(d["adev"], 16), int(d["kfd"], 16)) == (
        dev["node"], dev["gpu_id"], dev["adev"], dev["kfd"])
    assert d["enable_mes"] is True
    assert (int(d["sched_version"], 16), int(d["kiq_version"], 16)) == (
        dev["sched_version"], dev["kiq_version"])
    r = d["ring"]
    assert (int(r["addr"], 16), int(r["ring"], 16), r["ring_size"], r["wptr"], int(r["gpu_addr"], 16)) == (
        dev["ring"], dev["ring_buf"], dev["ring_size"], dev["wptr"], dev["ring_gpu_addr"])
    # every API frame the host wrote, in order, with what it names
    want = [(f["dw"], f["opcode"], f["misc_opcode"], f["process_context_addr"], f["flush"],
             f["process_id"], f["doorbell_offset"]) for f in fx.manifest["mes_frames"]]
    got = [(f["dw"], f["opcode"], f.get("misc_opcode", -1), int(f.get("process_context_addr", "0"), 16),
            int(f.get("process_ctx_flush", False)), int(f.get("process_id", "0"), 16),
            int(f.get("doorbell_offset", "0"), 16)) for f in r["frames"]]
    assert got == want
    assert r["frames_not_in_dump"] == 0

    byaddr = {int(x["addr"], 16): x for x in j["processes"]}
    for role, m in procs(fx).items():
        x = byaddr[m["kfd_process"]]
        assert (int(x["pasid"], 16), x["pid"], x["comm"], int(x["mm"], 16)) == (
            m["pasid"], m["pid"], m["comm"], m["mm"])
        assert x["state"] == ("hashed" if m["hashed"] else "unhashed")
        assert x["in_table"] == bool(m["hashed"])
        assert x["debug_trap_enabled"] == bool(m["debug_trap_enabled"])
        assert (x["runtime_state"], x["dbg_flags"]) == (m["runtime_state"], m["dbg_flags"])
        (pd,) = x["pdds"]
        assert int(pd["addr"], 16) == m["pdd"]
        assert int(pd["gpu_id"], 16) == dev["gpu_id"]
        assert (int(pd["proc_ctx_bo"], 16), int(pd["proc_ctx_gpu_addr"], 16),
                int(pd["proc_ctx_cpu_ptr"], 16)) == (
            m["proc_ctx_bo"], m["proc_ctx_gpu_addr"], m["proc_ctx_cpu_ptr"])
        assert (pd["already_dequeued"], pd["runtime_inuse"], pd["queue_count"]) == (
            bool(m["already_dequeued"]), bool(m["runtime_inuse"]), m["queues"])
        assert (int(pd["spi_dbg_override"], 16), int(pd["spi_dbg_launch_mode"], 16),
                pd["watch_points"][0]) == (
            m["spi_dbg_override"], m["spi_dbg_launch_mode"], m["watch_point0"])
        qs = [q for q in fx.manifest["queues"] if q["pid"] == m["pid"]]
        assert [(int(q["addr"], 16), q["type"], q["queue_id"], int(q["doorbell_off"], 16), q["is_active"])
                for q in pd["queues"]] == [
            (q["queue"], q["type"], q["queue_id"], q["doorbell_off"], bool(q["is_active"])) for q in qs]
    # the only KFD processes are the two holders'
    assert set(byaddr) == {m["kfd_process"] for m in procs(fx).values()}


def test_x_dumps_the_process_context(stale):
    """-x: the first bytes of each process context, which the seeding module
    filled with a pattern that starts with the context's GPU address."""
    j = kpm_json(stale, "-x")
    for x in j["processes"]:
        (pd,) = x["pdds"]
        raw = bytes.fromhex(pd["proc_ctx_bytes"])
        assert len(raw) == 64
        assert struct.unpack_from("<Q", raw, 0)[0] == int(pd["proc_ctx_gpu_addr"], 16)
    assert "proc_ctx_bytes" not in json.dumps(kpm_json(stale))


def test_triage_includes_kfd(stale, clean):
    rc, out, err = stale.kpm_dump(["triage", "-j"])
    d = {x["name"]: x for x in json.loads(out)["decoders"]}
    assert d["kfd"]["status"] == "ok" and len(d["kfd"]["findings"]) == 2
    assert "share proc_ctx_gpu_addr" in d["kfd"]["findings"][0]["summary"]
    data = d["kfd"]["findings"][0]["data"]
    p = procs(stale)
    assert (data["kind"], int(data["gpu_id"], 16), int(data["proc_ctx_gpu_addr"], 16)) == (
        "shared_proc_ctx", stale.manifest["device"]["gpu_id"], stale.manifest["done"]["shared_ctx"])
    assert [(int(x["kfd_process"], 16), int(x["pasid"], 16), x["pid"], int(x["pdd"], 16))
            for x in data["processes"]] == [(p[r]["kfd_process"], p[r]["pasid"], p[r]["pid"], p[r]["pdd"])
                                            for r in ("old", "new")]
    assert d["kfd"]["findings"][1]["data"]["kind"] == "mes_context_not_flushed"
    rc, out, err = clean.kpm_dump(["triage", "-j"])
    d = {x["name"]: x for x in json.loads(out)["decoders"]}
    assert d["kfd"]["status"] == "nothing_wrong", d["kfd"]


def test_not_applicable_without_amdgpu(stale):
    """Without amdgpu's debug info the decoder says what to load."""
    cmd = [c for c in [stale.vmlinux]]
    from conftest import KPM_DUMP
    p = subprocess.run([KPM_DUMP, "-c", stale.vmcore, "-s", stale.vmlinux, "kfd"],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stderr.strip() == ("kfd: no struct kfd_process in the debug info: "
                                "load amdgpu's (mod -s amdgpu)"), p.stderr


# crash and drgn (the 6.12 half)


@needs_612_tools
@pytest.mark.parametrize("which", ["stale", "clean"])
def test_crash_drgn_kpm_dump_agree(which, request):
    fx = request.getfixturevalue(which)
    for args in ([], ["-x"], ["-a"], ["-j"]):
        fx.three_front_ends("kfd", args, clean=True)


@needs_612_tools
def test_values_are_crash_s_own(stale):
    """Every process, pdd, device and ring value against crash's struct and rd."""
    j = kpm_json(stale)
    cmds = []
    for x in j["processes"]:
        cmds.append(f"struct kfd_process.pasid,mm,n_pdds,debug_trap_enabled,dbg_flags {x['addr']}")
        for pd in x["pdds"]:
            cmds.append(f"struct kfd_process_device.already_dequeued,runtime_inuse,proc_ctx_bo,"
                        f"proc_ctx_gpu_addr,proc_ctx_cpu_ptr,spi_dbg_override,spi_dbg_launch_mode "
                        f"{pd['addr']}")
    (d,) = j["devices"]
    cmds += [f"struct kfd_node.id,adev,kfd {d['dev']}",
             f"struct amdgpu_ring.ring,wptr,ring_size,buf_mask,gpu_addr {d['ring']['addr']}",
             f"p/x ((struct amdgpu_device *){d['adev']})->mes.sched_version",
             f"p/x ((struct amdgpu_device *){d['adev']})->mes.kiq_version"]
    frames = d["ring"]["frames"]
    ring = int(d["ring"]["ring"], 16)
    cmds += [f"rd -32 {ring + (f['dw'] & (d['ring']['ring_size'] // 4 - 1)) * 4:#x} 1" for f in frames]
    out = stale.crash_sections(cmds)
    i = 0
    for x in j["processes"]:
        c = crash_members(out[i]); i += 1
        assert (c["pasid"], c["mm"], c["n_pdds"]) == (int(x["pasid"], 16), int(x["mm"], 16), x["n_pdds"])
        assert (c["debug_trap_enabled"] in ("true", 1)) == x["debug_trap_enabled"]
        assert c["dbg_flags"] == x["dbg_flags"]
        for pd in x["pdds"]:
            c = crash_members(out[i]); i += 1
            assert (c["already_dequeued"] in ("true", 1)) == pd["already_dequeued"]
            assert (c["runtime_inuse"] in ("true", 1)) == pd["runtime_inuse"]
            for k in ("proc_ctx_bo", "proc_ctx_gpu_addr", "proc_ctx_cpu_ptr",
                      "spi_dbg_override", "spi_dbg_launch_mode"):
                assert c[k] == int(pd[k], 16), k
    c = crash_members(out[i]); i += 1
    assert (c["id"], c["adev"], c["kfd"]) == (int(d["id"], 16), int(d["adev"], 16), int(d["kfd"], 16))
    c = crash_members(out[i]); i += 1
    r = d["ring"]
    assert (c["ring"], c["wptr"], c["ring_size"], c["gpu_addr"]) == (
        int(r["ring"], 16), r["wptr"], r["ring_size"], int(r["gpu_addr"], 16))
    for key in ("sched_version", "kiq_version"):
        assert int(re.search(r"= (0x[0-9a-f]+)", out[i]).group(1), 16) == int(d[key], 16); i += 1
    for f in frames:
        word = int(re.search(r":\s+([0-9a-f]{8})", out[i]).group(1), 16); i += 1
        # union MES_API_HEADER: type 3:0, opcode 11:4, dwsize 19:12
        assert (word >> 4) & 0xff == f["opcode"]


@needs_612_tools
def test_drgn_helpers(stale):
    from kpm.kfd import for_each_kfd_pdd, for_each_kfd_process
    prog = stale.program()
    got = {p.value_(): [d.value_() for d in for_each_kfd_pdd(p)] for p in for_each_kfd_process(prog)}
    assert got == {m["kfd_process"]: [m["pdd"]] for m in procs(stale).values()}
    for p in for_each_kfd_process(prog):
        assert p.type_.type_name() == "struct kfd_process *"
        assert p.pasid.value_() in {m["pasid"] for m in procs(stale).values()}


# hostile variants (addresses from crash's vtop)


@pytest.fixture(scope="module")
def hostile(stale):
    p = procs(stale)
    out = stale.crash_sections([f"vtop {p['old']['pdd']:#x}", f"vtop {p['new']['kfd_process']:#x}",
                                f"vtop {stale.manifest['device']['ring_buf']:#x}",
                                f"p/x &((struct kfd_process *){p['new']['kfd_process']:#x})->pdds[0]"])
    pdds0 = int(re.search(r"= (0x[0-9a-f]+)", out[3]).group(1), 16)
    return {"old_pdd_phys": crash_vtop(out[0]), "new_proc_phys": crash_vtop(out[1]),
            "ring_phys": crash_vtop(out[2]),
            "new_pdds0_phys": crash_vtop(out[1]) + (pdds0 - p["new"]["kfd_process"])}


@needs_612_tools
def test_pdd_page_excluded(stale, hostile):
    p = procs(stale)
    vm = stale.variant("kfd-pdd-excluded", ["--exclude", hex(hostile["old_pdd_phys"] >> 12)])
    out = stale.three_front_ends("kfd", vmcore=vm)
    assert re.search(rf"^      kfd_process_device.dev: cannot read 8 bytes at {p['old']['pdd']:#x}: "
                     r"page not in dump$", out, re.M), out
    # the other process is still decoded
    assert re.search(rf"^    {p['new']['pdd']:016x}  ", out, re.M), out


@needs_612_tools
def test_garbage_pdd_pointer(stale, hostile):
    vm = stale.variant("kfd-pdds-garbage", ["--poke", f"{hostile['new_pdds0_phys'] >> 12:#x}:"
                                            f"{hostile['new_pdds0_phys'] & 0xfff:#x}:"
                                            f"{struct.pack('<Q', 0x4141414141414141).hex()}"])
    out = stale.three_front_ends("kfd", vmcore=vm)
    assert "    pdds[0] 0x4141414141414141 is not a kernel address\n" in out, out


@needs_612_tools
def test_ring_pages_excluded(stale, hostile):
    dev = stale.manifest["device"]
    vm = stale.variant("kfd-ring-excluded", ["--exclude", hex(hostile["ring_phys"] >> 12)])
    out = stale.three_front_ends("kfd", ["-a"], vmcore=vm)
    assert re.search(r"^    \d+ API frames?, \d+ status frames?, [1-9]\d* frames? not in the dump", out, re.M), out
    # the processes are decoded all the same
    assert "share proc_ctx_gpu_addr" in out


@needs_612_tools
def test_cyclic_table_bucket(stale, hostile):
    """NEW's hash node points back at itself: the bucket walk stops with one
    line, and NEW is still found through its open /dev/kfd file."""
    new = procs(stale)["new"]
    phys = hostile["new_proc_phys"]  # kfd_processes, the hlist_node, is at offset 0
    vm = stale.variant("kfd-bucket-cycle", ["--poke", f"{phys >> 12:#x}:{phys & 0xfff:#x}:"
                                            f"{struct.pack('<Q', new['kfd_process']).hex()}"])
    out = stale.three_front_ends("kfd", vmcore=vm)
    assert re.search(rf"^  kfd_processes_table: bucket \d+: hlist at 0x[0-9a-f]+: node "
                     rf"{new['kfd_process']:#x}: pprev 0x[0-9a-f]+, expected "
                     rf"{new['kfd_process']:#x}$", out, re.M), out
    assert re.search(rf"^  {new['kfd_process']:016x}  +{new['pasid']:#x}  +{new['pid']}  ", out, re.M), out
    assert "share proc_ctx_gpu_addr" in out


def test_help_example_is_real_output(stale):
    """The EXAMPLE in kfd's help is this fixture's output, not made up."""
    from conftest import KPM_DUMP
    help_text = subprocess.run([KPM_DUMP, "help", "kfd"], capture_output=True, text=True,
                               check=True).stdout
    ex = help_text[help_text.index("    crash> kfd\n") + len("    crash> kfd\n"):]
    rc, out, err = stale.kpm_dump(["kfd"])
    assert [l[4:] for l in ex.rstrip("\n").split("\n")] == out.rstrip("\n").split("\n")
