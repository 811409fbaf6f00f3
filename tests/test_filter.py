# SPDX-License-Identifier: GPL-2.0
"""The makedumpfile filter for bug reports (filter/makedumpfile.conf,
docs/filter.md) on the 6.1-kmemleak-filtered fixture: one crash, saved
twice by the capture kernel, once with -d 31 (vmcore) and once more through
the filter (vmcore.filtered).

What the filter erased is read independently: the dump's erase info from
the kdump sub-header (makedumpfile's diskdump_mod.h, parsed here), the
erased bytes with drgn's typed reads.  kpm must then (1) give the same
triage on both dumps in crash, drgn and kpm-dump, but for the line that
says the dump was filtered, (2) report every object the same but for the
erased contents, and (3) show erased contents as erased, never as bytes.
"""
import json
import re
import struct

import pytest
from drgn import Object

from conftest import BASES, fixture, same_as_crash

NAME = "6.1-kmemleak-filtered"

# the fixture is a 6.1 dump: the host half (tests/run) reads it
pytestmark = pytest.mark.skipif("6.1" not in BASES, reason="a 6.1 fixture; KPM_BASES has no 6.1")


@pytest.fixture(scope="module")
def fx():
    return fixture(NAME)


@pytest.fixture(scope="module")
def filtered(fx):
    return fx.src + "/vmcore.filtered"


def eraseinfo(path):
    """The erase info of a kdump-compressed file: disk_dump_header
    (block_size at 428, header_version at 8), kdump_sub_header in the
    next block (offset_eraseinfo at 64, size_eraseinfo at 72)."""
    with open(path, "rb") as f:
        h = f.read(464)
        assert h[:8] == b"KDUMP   "
        version, = struct.unpack_from("<i", h, 8)
        block, = struct.unpack_from("<i", h, 428)
        f.seek(block)
        sh = f.read(104)
        off, size = struct.unpack_from("<QQ", sh, 64)
        if version < 5 or not size:
            return []
        f.seek(off)
        return f.read(size).decode().splitlines()


@pytest.fixture(scope="module")
def nodes(fx):
    """The kmemleak-test sample's test_list elements, read by drgn from the
    unfiltered dump: {address: first 32 bytes}."""
    from drgn.helpers.linux.list import list_for_each_entry
    prog = fx.program()
    return {n.value_(): prog.read(n.value_(), 32)
            for n in list_for_each_entry("struct test_node", prog["test_list"].address_of_(), "list")}


def test_manifest_says_how_both_dumps_were_made(fx):
    d = fx.manifest["dump_filtered"]
    assert d["vmcore"] == "vmcore.filtered"
    conf = open(fx.src + "/filter.conf").read()
    sources = "".join(open(f"{fx.src}/../../../{p}").read() for p in d["filter_sources"])
    assert conf == sources, "filter.conf is not the filter files the scenario names"
    assert "kpm-capture: filtered makedumpfile exit 0" in fx.console


def test_the_filter_erased_what_it_names(fx, filtered, nodes):
    """Every erase command of the filter is in the dump's erase info, the
    loop's once per element, and the bytes read as 'X' in the filtered dump
    only (drgn)."""
    info = eraseinfo(filtered)
    assert eraseinfo(fx.vmcore) == []
    assert info.count("erase node.header size 200") == len(nodes) == 10
    assert info.count("erase node.footer size 200") == len(nodes)
    assert "erase init_uts_ns.name.nodename size 65" in info
    assert any(l.startswith("erase saved_command_line size ") for l in info)
    prog, plain = fx.program(filtered), fx.program()
    for addr in nodes:
        node = Object(prog, "struct test_node", address=addr)
        assert prog.read(node.header.address_, 200) == b"X" * 200
        assert prog.read(node.footer.address_, 200) == b"X" * 200
        # the list itself is kept: kpm and kmemleak need it
        assert node.list.next.value_() == Object(plain, "struct test_node", address=addr).list.next.value_()
    nodename = prog["init_uts_ns"].name.nodename
    assert prog.read(nodename.address_, 65) == b"X" * 65
    assert plain.read(nodename.address_, 65) != b"X" * 65
    cmdline = prog["saved_command_line"].string_()
    assert cmdline and set(cmdline) == {ord("X")}


def strip_filtered(text):
    """A triage report without the lines that say the dump was filtered."""
    out, skip = [], False
    for line in text.splitlines():
        if line.startswith("  dump:    filtered"):
            skip = True
            continue
        if skip and line.startswith("    erase "):
            continue
        skip = False
        out.append(line)
    return "\n".join(out)


def test_triage_equals_the_unfiltered(fx, filtered):
    """The filter keeps all that kpm reads: the same triage in every front
    end, the filtered one saying so and naming its erase commands."""
    info = eraseinfo(filtered)
    for vmcore in (fx.vmcore, filtered):
        crash_text, crash_json = fx.crash_sections(["kpm", "kpm -j"], vmcore=vmcore)
        rc, drgn, err = fx.drgn(["triage"], vmcore=vmcore, script="kpm_drgn.py")
        assert rc == 0, err
        rc, dump, err = fx.kpm_dump(["triage"], vmcore=vmcore)
        assert rc == 0, err
        rc, dump_j, err = fx.kpm_dump(["triage", "-j"], vmcore=vmcore)
        assert rc == 0, err
        assert same_as_crash(drgn, crash_text) and same_as_crash(dump, crash_text)
        assert json.loads(dump_j) == json.loads(crash_json)
        if vmcore == fx.vmcore:
            plain, plain_j = dump, json.loads(dump_j)
            assert "filtered" not in plain and "filtered" not in plain_j
            continue
        j = json.loads(dump_j)
        assert j.pop("filtered") == {
            "erase_commands": len(info),
            "eraseinfo": [{"command": c, "times": info.count(c)} for c in dict.fromkeys(info)]}
        assert j == plain_j
        assert re.search(rf"^  dump:    filtered by makedumpfile --config, {len(info)} erase commands",
                         dump, re.M)
        assert "    erase node.header size 200 (10 times)" in dump.splitlines()
        assert strip_filtered(dump) == plain.rstrip("\n")


def objects(text):
    """{pointer: block} of a kmemleak report's objects."""
    blocks = re.split(r"^(?=\w+ object 0x)", text, flags=re.M)[1:]
    return {int(re.match(r"\w+ object (0x[0-9a-f]+)", b).group(1), 16): b for b in blocks}


def erased_ranges(fx, nodes):
    """(address, size) of what the filter erased, as drgn reads the
    unfiltered dump: the list elements' header and footer, the host and
    domain names, the command lines."""
    prog = fx.program()
    ranges = []
    for addr in nodes:
        node = Object(prog, "struct test_node", address=addr)
        ranges += [(node.header.address_, 200), (node.footer.address_, 200)]
    name = prog["init_uts_ns"].name
    ranges += [(name.nodename.address_, 65), (name.domainname.address_, 65)]
    for sym in ("saved_command_line", "static_command_line"):
        p = prog[sym]
        ranges.append((p.value_(), len(p.string_()) + 1))
    return ranges


def test_kmemleak_differs_only_in_erased_contents(fx, filtered, nodes):
    """Every object of kmemleak -x reads the same from both dumps but for
    those whose memory holds erased bytes: their hex dump says erased where
    it is, and their recomputed checksum says it covers erased bytes."""
    rc, plain, err = fx.kpm_dump(["kmemleak", "-x"])
    assert rc == 0, err
    rc, filt, err = fx.kpm_dump(["kmemleak", "-x"], vmcore=filtered)
    assert rc == 0, err
    a, b = objects(plain), objects(filt)
    assert a.keys() == b.keys() and len(a) > 10000
    differ = {p for p in a if a[p] != b[p]}
    sizes = {p: int(re.match(r"\w+ object 0x[0-9a-f]+ \(size (\d+)\)", a[p]).group(1)) for p in a}
    phys = {p for p in a if " phys flags " in a[p]}
    ranges = erased_ranges(fx, nodes)
    holding = {p for p in a if p not in phys for at, n in ranges if p < at + n and at < p + sizes[p]}
    assert set(nodes) <= holding
    assert differ == holding
    for p in differ:
        # but for the checksum line and the hex dump, the same
        def rest(block):
            return re.sub(r"^  checksum .*\n|^  hex dump .*\n(?:    .*\n)*", "", block, flags=re.M)
        assert rest(a[p]) == rest(b[p])
        assert re.search(r"^  checksum .*\(over \d+ bytes erased by the dump's filter\)$", b[p], re.M)
        assert "58 58 58 58 58 58 58 58" not in b[p]
    for p in nodes:
        assert "hex dump (first 32 bytes):\n    erased by the dump's filter (makedumpfile --config)\n" in b[p]
        # the unfiltered dump shows the bytes drgn reads
        row = " ".join(f"{c:02x}" for c in nodes[p][:16])
        assert f"    {row}  " in a[p]


@pytest.mark.parametrize("front", ["kpm-dump", "crash", "drgn"])
def test_erased_contents_reported_as_erased(fx, filtered, nodes, front):
    addr = sorted(nodes)[3]
    args = ["kmemleak", "-a", hex(addr), "-x", "-j"]
    if front == "kpm-dump":
        rc, out, err = fx.kpm_dump(args, vmcore=filtered)
        assert rc == 0, err
    elif front == "crash":
        out, = fx.crash_sections([" ".join(args)], vmcore=filtered)
    else:
        rc, out, err = fx.drgn(args[1:], vmcore=filtered, script="kmemleak.py")
        assert rc == 0, err
    obj, = [o for o in json.loads(out)["objects"] if int(o["pointer"], 16) == addr]
    assert obj["hexdump"] == [{"erased": True}]
