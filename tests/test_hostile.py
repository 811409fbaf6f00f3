# SPDX-License-Identifier: GPL-2.0
"""Hostile dumps: excluded pages, garbage pointers, a cyclic list, a
truncated file.  Each variant is made from the real fixture with
tests/tools/kdumpedit.py via Fixture.variant (the addresses come from crash's own p/vtop); kpm
must print a clear one-line error, keep going, and never take crash or
drgn down.
"""
import json
import os
import re
import struct

import pytest

from conftest import crash_members, crash_nvme_dev, crash_vtop


@pytest.fixture(scope="module")
def facts(nvme):
    """Addresses of the objects to damage, from crash's own p/struct/vtop."""
    qid = nvme.manifest["injected"]["qid"]
    dev, node, qsize, queues, online = crash_nvme_dev(nvme)
    queue = queues + qid * qsize
    q_out, field_out, node_phys, queue_phys = nvme.crash_sections([
        f"struct nvme_queue.cqes,cq_dma_addr,q_depth,qid {queue:#x}",
        f"p &((struct nvme_queue *){queue:#x})->cqes",
        f"vtop {node:#x}",
        f"vtop {queue:#x}",
    ])
    q = crash_members(q_out)
    assert q["qid"] == qid
    field = int(re.search(r"(0x[0-9a-f]+)$", field_out.strip()).group(1), 16)
    return {
        "qid": qid, "q": q, "node": node,
        "node_phys": crash_vtop(node_phys),
        "cqes_field_phys": crash_vtop(queue_phys) + (field - queue),
    }


def poke_arg(phys, value):
    return ["--poke", f"{phys >> 12:#x}:{phys & 0xfff:#x}:{struct.pack('<Q', value).hex()}"]


def check_crash_survives(fx, vmcore, expect):
    rc, out = fx.crash(["nvmeq", "p/x 0x600dcafe"], vmcore=vmcore)
    assert "0x600dcafe" in out, f"crash did not get past nvmeq:\n{out[-2000:]}"
    assert re.search(expect, out), out
    return out


def check_drgn_survives(fx, vmcore, expect):
    rc, out, err = fx.drgn([], vmcore=vmcore)
    assert rc == 0, err
    assert re.search(expect, out), out
    return out


def check_dump_survives(fx, vmcore, expect):
    rc, out, err = fx.kpm_dump(["nvmeq"], vmcore=vmcore)
    assert rc == 0, err
    assert re.search(expect, out), out
    return out


def check_all(fx, vmcore, expect):
    """crash, drgn and kpm-dump survive, and say the same thing."""
    outs = [check_crash_survives(fx, vmcore, expect), check_drgn_survives(fx, vmcore, expect),
            check_dump_survives(fx, vmcore, expect)]
    lines = [re.search(expect + ".*", o).group(0) for o in outs]
    assert lines[0] == lines[1] == lines[2], lines
    return outs


def test_cq_ring_pages_excluded(nvme, facts):
    q = facts["q"]
    ring = q["q_depth"] * 16
    pfns = range(q["cq_dma_addr"] >> 12, (q["cq_dma_addr"] + ring + 4095) >> 12)
    vm = nvme.variant("cq-excluded", sum((["--exclude", hex(p)] for p in pfns), []))
    expect = (rf"nvme0 qid {facts['qid']}: CQ ring: cannot read {ring} bytes at {q['cqes']:#x}: "
              r"page not in dump")
    for out in check_all(nvme, vm, expect):
        # the other queues are still decoded
        assert re.search(r"^ +0  [0-9a-f]{16} +32 ", out, flags=re.M)
        assert re.search(r"^ +1  [0-9a-f]{16} +1024 ", out, flags=re.M)


def test_garbage_cq_pointer(nvme, facts):
    vm = nvme.variant("cqes-garbage", poke_arg(facts["cqes_field_phys"], 0x4141414141414141))
    expect = rf"nvme0 qid {facts['qid']}: CQ ring: invalid address 0x4141414141414141"
    check_all(nvme, vm, expect)


def test_unmapped_cq_pointer(nvme, facts):
    bad = 0xffffc9ffdead0000
    vm = nvme.variant("cqes-unmapped", poke_arg(facts["cqes_field_phys"], bad))
    expect = rf"nvme0 qid {facts['qid']}: CQ ring: cannot read \d+ bytes at {bad:#x}"
    check_all(nvme, vm, expect)


def test_cyclic_device_list(nvme, facts):
    # The controller's klist node points back at itself: an endless list.
    vm = nvme.variant("klist-cycle", poke_arg(facts["node_phys"], facts["node"]))
    # found by the next->prev check (as drgn's validate_list_for_each), or,
    # for a list whose prev pointers agree, by the cycle check
    expect = (r"controller list: list at 0x[0-9a-f]+: (cycle not through its head|list entry "
              rf"{facts['node']:#x}: next {facts['node']:#x} has prev 0x[0-9a-f]+, not {facts['node']:#x})")
    for out in check_all(nvme, vm, expect):
        assert len(re.findall(r"^[0-9a-f]{16}  nvme0 ", out, flags=re.M)) == 1


def test_truncated_dump(nvme):
    size = os.path.getsize(nvme.vmcore)
    for pct in (60, 90):
        vm = nvme.variant(f"truncated{pct}", ["--truncate", str(size * pct // 100)])
        # crash may refuse a dump cut this short while it starts up; it must
        # not die of a signal, and if it opens the dump nvmeq must report.
        rc, out = nvme.crash(["nvmeq", "p/x 0x600dcafe"], vmcore=vm)
        assert rc >= 0 and not re.search(r"segmentation|core dumped", out, re.I), out
        if "0x600dcafe" in out:
            assert "NVME DIAGNOSIS" in out or "nvmeq: " in out, out
        # drgn opens it; the decoder reports what it can, or one clear line.
        rc, out, err = nvme.drgn([], vmcore=vm)
        assert "Traceback" not in err, err
        if rc == 0:
            assert "NVME DIAGNOSIS" in out
        else:
            assert err.strip().splitlines()[-1].startswith("nvmeq: "), err


@pytest.fixture(scope="module")
def kml_facts(kml):
    """A reported leak's kmemleak_object and the page of its list entry,
    from drgn's walk and crash's vtop (kpm not involved)."""
    from drgn.helpers.linux.list import list_for_each_entry
    prog = kml.program()
    leak = kml.manifest["kmemleak_report"][len(kml.manifest["kmemleak_report"]) // 2]["pointer"]
    objs = list(list_for_each_entry("struct kmemleak_object", prog["object_list"].address_of_(),
                                    "object_list"))
    (i,) = [i for i, o in enumerate(objs) if o.pointer.value_() == leak]
    entry = objs[i].object_list.address_of_().value_()
    target = objs[i // 2].object_list.address_of_().value_()  # an earlier entry
    (vt,) = kml.crash_sections([f"vtop {entry:#x}"])
    return {"n": len(objs), "index": i, "entry": entry, "phys": crash_vtop(vt), "target": target,
            "pointer": leak}


def test_kmemleak_list_looping_back(kml, kml_facts):
    # The object's object_list.next points to an earlier object: the walk
    # must end, visit each object once, and say so.
    f = kml_facts
    vm = kml.variant("kml-cycle", poke_arg(f["phys"], f["target"]))
    rc, out = kml.crash(["kmemleak -S", "kmemleak -j", "p/x 0x600dcafe"], vmcore=vm)
    assert "0x600dcafe" in out, out[-2000:]
    assert re.search(rf"object_list walk stopped early: list at 0x[0-9a-f]+: (cycle not through "
                     rf"its head after {f['index'] + 1} entries|list entry {f['entry']:#x}: next "
                     rf"{f['target']:#x} has prev 0x[0-9a-f]+, not {f['entry']:#x})", out), out[:3000]
    assert f"object_list: {f['index'] + 1} objects" in out
    js = json.loads([l for l in out.splitlines() if l.startswith('{"summary"')][0])
    addrs = [o["address"] for o in js["objects"]]
    assert len(addrs) == len(set(addrs)) == f["index"] + 1
    rc, out, err = kml.drgn(["-S"], vmcore=vm, script="kmemleak.py")
    assert rc == 0 and f"list entry {f['entry']:#x}: next {f['target']:#x} has prev" in out, err
    rc, out2, err = kml.kpm_dump(["kmemleak", "-S"], vmcore=vm)
    assert rc == 0 and out2 == out, err


def test_kmemleak_object_page_excluded(kml, kml_facts):
    # The page holding one kmemleak_object is left out of the dump: the walk
    # stops there with one clear line; what came before is decoded.
    f = kml_facts
    vm = kml.variant("kml-excluded", ["--exclude", hex(f["phys"] >> 12)])
    rc, out = kml.crash(["kmemleak -S", "p/x 0x600dcafe"], vmcore=vm)
    assert "0x600dcafe" in out, out[-2000:]
    assert re.search(r"object_list walk stopped early: list at 0x[0-9a-f]+: list entry: cannot read "
                     r"8 bytes at 0x[0-9a-f]+: page not in dump", out), out[:3000]
    n = int(re.search(r"object_list: (\d+) objects", out).group(1))
    assert 0 < n <= f["index"] + 1
    summary = out[out.index("KMEMLEAK SUMMARY"):out.index("$1 = 0x600dcafe")]
    for argv_out in (kml.drgn(["-S"], vmcore=vm, script="kmemleak.py")[1],
                     kml.kpm_dump(["kmemleak", "-S"], vmcore=vm)[1]):
        assert argv_out.strip() == summary.strip()
