# SPDX-License-Identifier: GPL-2.0
"""kmemleak in crash and drgn on the 6.1 kmemleak fixture.

Expected values: the guest's own /sys/kernel/debug/kmemleak report (in the
manifest), drgn's reads of the kmemleak structures, and a CRC computed here
from bytes drgn read; never kpm's own output.
"""
import json
import re
import zlib

import pytest

from conftest import same_as_crash
from drgn import Object, cast
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.rbtree import rbtree_inorder_for_each


@pytest.fixture(scope="module")
def guest(kml):
    return {o["pointer"]: o for o in kml.manifest["kmemleak_report"]}


@pytest.fixture(scope="module")
def crash_runs(kml):
    leaks, leaks_x, percpu, summary, insmod, big = kml.crash_sections(
        ["kmemleak -l -j", "kmemleak -l -x -j", "kmemleak -l -p -x", "kmemleak -S",
         "kmemleak -c insmod -j", "kmemleak -l -s 2048 -j"])
    return {"leaks": json.loads(leaks), "leaks_x": json.loads(leaks_x), "percpu_text": percpu,
            "summary": summary, "insmod": json.loads(insmod), "big": json.loads(big)}


@pytest.fixture(scope="module")
def prog(kml):
    return kml.program()


def by_pointer(report):
    return {int(o["pointer"], 16): o for o in report["objects"]}


def crc32_le(seed, data):
    """The kernel's crc32_le(): zlib's crc32 without its pre/post inversion."""
    return zlib.crc32(data, seed ^ 0xffffffff) ^ 0xffffffff


def test_leaks_are_exactly_the_guest_report(crash_runs, guest):
    kpm = by_pointer(crash_runs["leaks"])
    assert set(kpm) == set(guest)
    for ptr, g in guest.items():
        o = kpm[ptr]
        assert (o["size"], o["comm"], o["pid"], o["jiffies"]) == (g["size"], g["comm"], g["pid"], g["jiffies"])


def test_backtraces_match_the_guest_report(crash_runs, guest):
    kpm = by_pointer(crash_runs["leaks"])
    for ptr, g in guest.items():
        frames = kpm[ptr]["backtrace"]
        assert len(frames) == len(g["backtrace"]), hex(ptr)
        for mine, theirs in zip(frames, g["backtrace"]):
            if theirs["symbol"] is None:
                # %pS could not name it (freed __init text): neither may kpm
                assert mine["symbol"] == "" and int(mine["address"], 16) == theirs["address"]
            else:
                assert (mine["symbol"], mine["offset"]) == (theirs["symbol"], theirs["offset"])


def test_percpu_leak_is_marked_percpu(crash_runs, guest):
    kpm = by_pointer(crash_runs["leaks"])
    guest_percpu = {p for p, g in guest.items() if g.get("hexdump_cpu") is not None}
    assert guest_percpu, "the fixture's report has no per-CPU leak"
    assert {p for p, o in kpm.items() if o["kind"] == "percpu"} == guest_percpu
    for p in guest_percpu:
        assert "PERCPU" in kpm[p]["flag_names"].split("|")


def test_hex_dumps_match_the_guest_report(crash_runs, guest):
    kpm = by_pointer(crash_runs["leaks_x"])
    for ptr, g in guest.items():
        if not g["hexdump"]:
            continue
        dumps = kpm[ptr]["hexdump"]
        if g.get("hexdump_cpu") is not None:
            (d,) = [d for d in dumps if d["cpu"] == g["hexdump_cpu"]]
        else:
            (d,) = dumps
        want = "".join(l.split("  ")[0].replace(" ", "") for l in g["hexdump"])
        assert d["bytes"] == want, hex(ptr)


def test_percpu_text_has_a_hex_dump_per_possible_cpu(crash_runs, guest, prog):
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    cpus = list(for_each_possible_cpu(prog))
    text = crash_runs["percpu_text"]
    for p, g in guest.items():
        if g.get("hexdump_cpu") is None:
            continue
        block = text[text.index(f"unreferenced object {p:#x} (size {g['size']}):"):]
        for cpu in cpus:
            assert f"hex dump (first 32 bytes on cpu {cpu}):" in block
        # the CPU the guest's report showed, byte for byte, as the kernel prints it
        i = block.index(f"hex dump (first 32 bytes on cpu {g['hexdump_cpu']}):")
        assert block[i:].splitlines()[1:1 + len(g["hexdump"])] == ["    " + l for l in g["hexdump"]]


def test_checksums_recomputed_from_the_dump(crash_runs, guest, prog):
    """A reported leak was unchanged since the scan that reported it, so the
    checksum kmemleak stored must be the CRC of its contents now; both come
    from drgn here (the kmemleak_object, the bytes), not from kpm."""
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    kpm = by_pointer(crash_runs["leaks"])
    for ptr, g in guest.items():
        o = kpm[ptr]
        obj = Object(prog, "struct kmemleak_object", address=int(o["address"], 16))
        stored = obj.checksum.value_()
        size = obj.size.value_()
        if o["kind"] == "percpu":
            crc = 0
            for cpu in for_each_possible_cpu(prog):
                off = prog["__per_cpu_offset"][cpu].value_()
                crc = crc32_le(crc, prog.read(ptr + off, size))
        else:
            crc = crc32_le(0, prog.read(ptr, size))
        assert crc == stored, hex(ptr)
        if "checksum" in g:  # 6.6+ reports print it: "backtrace (crc %x)"
            assert g["checksum"] == stored, hex(ptr)
        assert o["checksum"] == stored and o["checksum_recomputed"] == crc
        assert o["checksum_state"] == "ok"


def test_summary_counts_equal_drgn(crash_runs, prog):
    objs = list(list_for_each_entry("struct kmemleak_object", prog["object_list"].address_of_(),
                                    "object_list"))
    s = crash_runs["leaks"]["summary"]
    assert s["objects"] == len(objs)
    pc = sum(1 for o in objs if o.flags.value_() & 0x20)
    ph = sum(1 for o in objs if o.flags.value_() & 0x10)
    assert (s["percpu"], s["phys"], s["virtual"]) == (pc, ph, len(objs) - pc - ph)
    for tree in ("object_tree_root", "object_phys_tree_root", "object_percpu_tree_root"):
        n = sum(1 for _ in rbtree_inorder_for_each(prog[tree].address_of_()))
        assert s["trees"][tree] == n, tree
    text = crash_runs["summary"]
    assert f"object_list: {len(objs)} objects" in text
    assert re.search(r"reported leaks: (\d+)", text).group(1) == str(len(crash_runs["leaks"]["objects"]))


def test_filters(crash_runs, guest, prog):
    insmod = {int(o["pointer"], 16) for o in crash_runs["insmod"]["objects"]}
    want = {o.pointer.value_() for o in list_for_each_entry(
        "struct kmemleak_object", prog["object_list"].address_of_(), "object_list")
        if o.comm.string_() == b"insmod"}
    assert insmod == want and set(guest) <= insmod
    big = {int(o["pointer"], 16) for o in crash_runs["big"]["objects"]}
    assert big == {p for p, g in guest.items() if g["size"] >= 2048}


def test_address_lookup(kml, guest):
    ptr = max(p for p, g in guest.items() if g.get("hexdump_cpu") is None)
    inside = ptr + guest[ptr]["size"] - 1
    (out,) = kml.crash_sections([f"kmemleak -a {inside:x} -j"])
    (o,) = json.loads(out)["objects"]
    assert int(o["pointer"], 16) == ptr
    # a per-CPU address: the __percpu pointer plus a CPU's offset
    (pc,) = [p for p, g in guest.items() if g.get("hexdump_cpu") is not None]
    (off_out,) = kml.crash_sections(["p/x __per_cpu_offset[1]"])
    off = int(re.search(r"= (0x[0-9a-f]+)", off_out).group(1), 16)
    (out,) = kml.crash_sections([f"kmemleak -a {pc + off + 8:x} -j"])
    (o,) = json.loads(out)["objects"]
    assert int(o["pointer"], 16) == pc and o["kind"] == "percpu"


def test_drgn_script_agrees_with_crash(kml):
    for flags in (["-l", "-x"], ["-l", "-p", "-x"], ["-S"], ["-p", "-j"]):
        rc, out, err = kml.drgn(flags, script="kmemleak.py")
        assert rc == 0, err
        (crash_out,) = kml.crash_sections(["kmemleak " + " ".join(flags)])
        assert same_as_crash(out, crash_out), f"kmemleak {flags} differs between drgn and crash"


def test_drgn_helpers(prog, guest):
    from kpm.kmemleak import for_each_kmemleak_object, kmemleak_leaks
    objs = list(for_each_kmemleak_object(prog))
    assert objs and objs[0].type_.type_name() == "struct kmemleak_object *"
    by_ptr = {o.pointer.value_(): o for o in objs}
    assert set(guest) <= set(by_ptr)
    for p, g in guest.items():
        assert by_ptr[p].size.value_() == g["size"]
    leaks = kmemleak_leaks(prog, percpu_only=True)
    assert [int(o["pointer"], 16) for o in leaks] == [p for p, g in guest.items()
                                                        if g.get("hexdump_cpu") is not None]


def test_help_and_usage(kml):
    helptext, usage = kml.crash_sections(["help kmemleak", "kmemleak -z"])
    assert "SYNOPSIS" in helptext and "EXAMPLE" in helptext and "crash> kmemleak -l -p -x" in helptext
    assert "Usage:" in usage
