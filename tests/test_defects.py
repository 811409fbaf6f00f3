# SPDX-License-Identifier: GPL-2.0
"""Defects found reading the code, each with the case that showed it; every
case runs through crash, the drgn script and kpm-dump, and the same damage
must give the same words in all three.

The objects to damage are found with drgn's typed reads and crash's vtop;
expected values come from drgn, crash or the manifest, never from kpm.
"""
import json
import re

import pytest
from drgn import Object, cast, container_of
from drgn.helpers import ValidationError

from conftest import crash_vtop


def poke_arg(phys, value):
    return ["--poke", f"{phys >> 12:#x}:{phys & 0xfff:#x}:{value.to_bytes(8, 'little').hex()}"]


def three(fx, crash_cmd, argv, vmcore, script="kpm_drgn.py"):
    """The command's output in crash, drgn and kpm-dump (stdout + stderr)."""
    (crash,) = fx.crash_sections([crash_cmd], vmcore=vmcore)
    rc, out, err = fx.drgn(argv, vmcore=vmcore, script=script)
    drgn = out + err
    rc, out, err = fx.kpm_dump(argv, vmcore=vmcore)
    return crash, drgn, out + err


@pytest.fixture(scope="module")
def nv(nvme):
    """The injected queue's tag set, from drgn's own walk of the driver."""
    prog = nvme.program()
    qid = nvme.manifest["injected"]["qid"]
    drv = Object(prog, "struct pci_driver", address=prog.symbol("nvme_driver").address)
    node = drv.driver.p.klist_devices.k_list.next
    priv = container_of(node, "struct device_private", "knode_driver.n_node")
    dev = cast("struct nvme_dev *", priv.device.driver_data)
    tags_array = dev.tagset.tags.value_()
    tags = dev.tagset.tags[qid - 1].value_()
    vt_array, vt_tags = nvme.crash_sections([f"vtop {tags_array:#x}", f"vtop {tags:#x}"])
    return {"qid": qid, "tags_array": tags_array, "tags": tags,
            "array_pfn": crash_vtop(vt_array) >> 12, "tags_pfn": crash_vtop(vt_tags) >> 12}


@pytest.mark.parametrize("what", ["tags_array", "tags"])
def test_unreadable_tag_set_is_unknown_not_zero(nvme, nv, what):
    """With the page of blk_mq_tag_set.tags[] (or of the queue's struct
    blk_mq_tags) excluded, the injected CQE was reported as "completion of
    a command never submitted ... tag 0 is beyond the queue's 0 tags": the
    failed read had become nr_tags = 0.  Unknown is not zero."""
    inj = nvme.manifest["injected"]
    pfn = nv["array_pfn" if what == "tags_array" else "tags_pfn"]
    vm = nvme.variant(f"excl-{what}", ["--exclude", hex(pfn)])
    head = (rf"nvme0 qid {inj['qid']} cq slot {inj['cq_slot']} \(cq_head\): cannot tell: tag set "
            rf"unreadable \((?P<why>[^\n]*page not in dump)\), command_id {inj['command_id']:#x} "
            rf"\(genctr {inj['genctr']}, tag {inj['tag']}\)")
    whys = []
    outs = three(nvme, "nvmeq", ["nvmeq"], vm)
    if "did not match any loaded modules" in outs[1]:
        # drgn's own module discovery needs that page on 6.12 (drgn 0.0.31
        # reads the module list itself, and the tag array shares a slab
        # page with what it reads): it cannot load nvme.ko's debug info at
        # all, kpm never runs; compare crash and kpm-dump.
        outs = (outs[0], outs[2], outs[2])
    for out in outs:
        m = re.search(head, out)
        assert m, out[:3000]
        whys.append(m.group("why"))
        assert f"already consumed from slot {inj['duplicate_of_slot']}" in out
        assert "never submitted" not in out and "beyond the queue's" not in out
    assert whys[0] == whys[1] == whys[2]
    if what == "tags_array":
        slot = nv["tags_array"] + 8 * (inj["qid"] - 1)
        assert whys[0] == f"blk_mq_tag_set.tags[]: cannot read 8 bytes at {slot:#x}: page not in dump"
    else:
        assert re.fullmatch(r"blk_mq_tags\.\w+: cannot read \d+ bytes at (0x[0-9a-f]+): page not in dump",
                            whys[0]) and int(whys[0].split(" at ")[1].split(":")[0], 16) >> 12 == \
            nv["tags"] >> 12
    # JSON: the verdict says so, and the entry is not counted as bad
    rc, out, err = nvme.kpm_dump(["nvmeq", "-j"], vmcore=vm)
    (d,) = json.loads(out)["diagnosis"]
    assert d["verdict"] == "cannot tell" and "tag set unreadable" in d["why"]


@pytest.fixture(scope="module")
def object_list(kml):
    (sym,) = kml.crash_sections(["sym object_list"])
    head = int(re.search(r"^([0-9a-f]{16}) \(\w\) object_list", sym, re.M).group(1), 16)
    (vt,) = kml.crash_sections([f"vtop {head:#x}"])
    return head, crash_vtop(vt)


def test_null_next_is_not_an_entry(kml, object_list):
    """object_list.next = NULL: kpm_list_walk counted the NULL as a node and
    printed a phantom kmemleak_object at fffffffffffffff8."""
    head, phys = object_list
    vm = kml.variant("kml-null-next", poke_arg(phys, 0))
    for out in three(kml, "kmemleak -S", ["kmemleak", "-S"], vm):
        assert "object_list: 0 objects" in out, out[:2000]
        assert (f"object_list walk stopped early: list at {head:#x}: list entry {head:#x}: "
                f"next is NULL") in out
        assert "fffffffffffffff8" not in out
    # the drgn helper says so too, instead of ending quietly
    from kpm.kmemleak import for_each_kmemleak_object
    with pytest.raises(ValidationError, match="next is NULL"):
        list(for_each_kmemleak_object(kml.program(vm)))


def test_drgn_iterators_raise_on_a_partial_walk(kml):
    """A walk cut short (an entry whose next does not point back) yields
    what it reached, then raises ValidationError."""
    from drgn.helpers.linux.list import list_for_each_entry
    from kpm.kmemleak import for_each_kmemleak_object
    prog = kml.program()
    objs = list(list_for_each_entry("struct kmemleak_object", prog["object_list"].address_of_(),
                                    "object_list"))
    i = len(objs) // 3
    entry = objs[i].object_list.address_of_().value_()
    (vt,) = kml.crash_sections([f"vtop {entry:#x}"])
    vm = kml.variant("kml-back", poke_arg(crash_vtop(vt), objs[0].object_list.address_of_().value_()))
    seen = []
    with pytest.raises(ValidationError, match=f"list entry {entry:#x}: next"):
        for o in for_each_kmemleak_object(kml.program(vm)):
            seen.append(o.value_())
    assert seen == [o.value_() for o in objs[:i + 1]]


def test_cq_window_is_the_same_in_text_and_json(nvme):
    """nvmeq -c showed a window around cq_head, nvmeq -c -j every non-empty
    slot of every ring: one selection serves both."""
    text, js = nvme.crash_sections(["nvmeq -c", "nvmeq -c -j"])
    rings = re.split(r"^  nvme queue (\d+) CQ ring at", text, flags=re.M)[1:]
    want = {}
    for qid, body in zip(rings[::2], rings[1::2]):
        want[int(qid)] = [int(s) for s in re.findall(r"^  (?:->|  ) *(\d+) +(?:0x[0-9a-f]+|0) ",
                                                     body.split("SQ ring")[0], re.M)]
    got = {q["qid"]: [e["slot"] for e in q["cq_ring"]]
           for q in json.loads(js)["controllers"][0]["queues"]}
    assert want and got == want


FPSTATE = ("size", "xfd", "is_valloc", "is_guest", "is_confidential", "in_use")


def crash_ptype_bits(text, member):
    """(bit offset, bit size) of a member from crash's `ptype /o` (gdb's own)."""
    m = re.search(rf"/\*\s+(\d+)(?::\s*(\d+))?\s+\|\s+\d+ \*/\s+[^;]*\b{member}(?: : (\d+))?;", text)
    assert m, member
    byte, bit, width = int(m.group(1)), m.group(2), m.group(3)
    return (byte * 8 + int(bit), int(width)) if bit is not None else (byte * 8, 0)


def test_bitfields_in_every_front_end(kml):
    """struct fpstate's bitfields (what the KVM FPU decoder will read): crash's
    ptype /o parse took "unsigned int is_guest : 1;" for a member named
    "int", drgn's offsetof refused it, kpm-dump gave the storage unit."""
    prog = kml.program()
    t = prog.type("struct fpstate")
    want = {}
    for m in t.members:
        if m.name in FPSTATE:
            want[m.name] = (m.bit_offset, m.bit_field_size or 0)
    assert any(w[1] for w in want.values()), "no bitfield in struct fpstate?"
    argv = ["kpmtype", "-j"] + [f"fpstate.{m}" for m in FPSTATE]
    (ptype,) = kml.crash_sections(["ptype /o struct fpstate"])
    outs = three(kml, " ".join(argv), argv, None)
    for out in outs:
        got = {e["member"]: (e["bit_offset"], e["bit_size"])
               for e in json.loads(out[out.index("["):out.rindex("]") + 1])}
        assert got == want, out
    for m in FPSTATE:
        assert crash_ptype_bits(ptype, m) == want[m], m


def test_bitfield_values(kml):
    """printk_info.level:3 and .flags:5 (one byte) of a real record, read
    through kpmtype -a, equal drgn's reads of the same bitfields."""
    prog = kml.program()
    ring = prog["prb"].desc_ring
    n = 1 << ring.count_bits.value_()
    info = next(ring.infos[i] for i in range(n)
                if ring.infos[i].level.value_() and ring.infos[i].flags.value_())
    want = {m: info.member_(m).value_() for m in ("seq", "level", "flags", "text_len")}
    argv = ["kpmtype", "-j", "-a", f"{info.address_:x}"] + [f"printk_info.{m}" for m in want]
    for out in three(kml, " ".join(argv), argv, None):
        got = {e["member"]: e["value"] for e in json.loads(out[out.index("["):out.rindex("]") + 1])}
        assert got == want, out


def test_percpu_over_possible_cpus_not_crashs_count(kml):
    """crash's per-CPU offset refused cpu >= kt->cpus (the CPUs crash
    counts), while kmemleak folds a per-CPU object's checksum over every
    possible CPU.  With the online and present masks of the dump cut to
    CPU 0, crash counts one CPU; the possible mask still has them all."""
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    possible = list(for_each_possible_cpu(kml.program()))
    assert len(possible) > 1
    syms = kml.crash_sections(["sym __cpu_online_mask", "sym __cpu_present_mask"], load_modules=False)
    args = []
    for out in syms:
        (vt,) = kml.crash_sections([f"vtop {int(out.split()[0], 16):#x}"], load_modules=False)
        args += poke_arg(crash_vtop(vt), 1)
    vm = kml.variant("one-cpu-online", args)
    helpk, out = kml.crash_sections(["help -k", "kmemleak -l -p -x -j"], vmcore=vm)
    assert re.search(r"^ +cpus: 1$", helpk, re.M), "crash should count one CPU here"
    (o,) = json.loads(out)["objects"]
    assert [d["cpu"] for d in o["hexdump"]] == possible
    assert o["checksum_state"] == "ok" and o["checksum_recomputed"] == o["checksum"]
