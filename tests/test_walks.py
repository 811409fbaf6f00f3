# SPDX-License-Identifier: GPL-2.0
"""kpmwalk: the core's list, hlist, red-black tree, XArray and IDR walks on
real structures of the fixture dumps.

Expected values come from drgn's helpers (idr_for_each, xa_for_each,
hlist_for_each, rbtree_inorder_for_each, list_for_each_entry) and from
crash's own list and tree on the same dump, never from kpm: the walks
must agree with both, entry for entry and in the same order.  The
hostile cases damage a real dump (tests/tools/kdumpedit.py, addresses from
drgn and crash's vtop): an XArray node's page left out of the dump, an
hlist looping back.
"""
import os
import re
import struct
import subprocess

import pytest
from drgn import Object, offsetof, sizeof
from drgn.helpers.linux.idr import idr_for_each
from drgn.helpers.linux.list import hlist_for_each, hlist_for_each_entry, list_for_each_entry
from drgn.helpers.linux.rbtree import rbtree_inorder_for_each
from drgn.helpers.linux.xarray import xa_for_each

from conftest import TOP, crash_vtop

KPM_DUMP = os.path.join(TOP, "standalone", "kpm-dump")


@pytest.fixture(scope="module")
def prog(kml):
    return kml.program()


def largest_page_cache(prog):
    """The struct xarray of the page cache of the rootfs file with the most
    pages: a real XArray several levels deep."""
    best = (0, None)
    for sb in list_for_each_entry("struct super_block", prog["super_blocks"].address_of_(), "s_list"):
        for inode in list_for_each_entry("struct inode", sb.s_inodes.address_of_(), "i_sb_list"):
            n = inode.i_mapping.nrpages.value_()
            if n > best[0]:
                best = (n, inode.i_mapping.i_pages.address_of_().value_())
    assert best[0] > 64, "no file in the fixture's page cache spans more than one XArray node"
    return best[1]


@pytest.fixture(scope="module")
def facts(prog):
    """Addresses and the expected walks, from drgn."""
    f = {}
    idr = prog["init_pid_ns"].idr.address_of_()
    f["idr"] = idr.value_()
    f["idr_rt"] = idr.idr_rt.address_of_().value_()
    f["idr_entries"] = [(i, e.value_()) for i, e in idr_for_each(idr)]
    xa = largest_page_cache(prog)
    f["xa"] = xa
    f["xa_entries"] = [(i, e.value_()) for i, e in
                       xa_for_each(Object(prog, "struct xarray *", value=xa))]
    # every kernel thread is in process group 0: init_struct_pid's PGID hlist
    pgid = prog["PIDTYPE_PGID"].value_()
    head = prog["init_struct_pid"].tasks[pgid].address_of_()
    f["hlist"] = head.value_()
    f["hlist_nodes"] = [n.value_() for n in hlist_for_each(head)]
    f["hlist_off"] = offsetof(prog.type("struct task_struct"), f"pid_links[{pgid}]")
    f["hlist_tasks"] = [t.value_() for t in hlist_for_each_entry(
        "struct task_struct", head, f"pid_links[{pgid}]")]
    root = prog["object_tree_root"].address_of_()
    f["rb"] = root.value_()
    f["rb_nodes"] = [n.value_() for n in rbtree_inorder_for_each(root)]
    f["rb_off"] = offsetof(prog.type("struct kmemleak_object"), "rb_node")
    f["modules"] = prog["modules"].address_of_().value_()
    f["module_off"] = offsetof(prog.type("struct module"), "list")
    f["module_addrs"] = [m.value_() for m in list_for_each_entry(
        "struct module", prog["modules"].address_of_(), "list")]
    f["objects"] = prog["object_list"].address_of_().value_()
    f["object_off"] = offsetof(prog.type("struct kmemleak_object"), "object_list")
    f["object_addrs"] = [o.value_() for o in list_for_each_entry(
        "struct kmemleak_object", prog["object_list"].address_of_(), "object_list")]
    # sanity: real, non-trivial structures
    assert len(f["idr_entries"]) > 16 and len(f["xa_entries"]) > 64
    assert len(f["hlist_nodes"]) > 2 and len(f["rb_nodes"]) > 1000
    assert f["module_addrs"] and len(f["object_addrs"]) > 1000
    return f


def walk_cmds(f):
    return {
        "idr": f"kpmwalk -t idr {f['idr']:x}",
        "xarray": f"kpmwalk -t xarray {f['xa']:#x}",
        "hlist": f"kpmwalk -t hlist {f['hlist']:x}",
        "hlist_o": f"kpmwalk -t hlist -o {f['hlist_off']} {f['hlist']:x}",
        "rbtree": f"kpmwalk -t rbtree {f['rb']:x}",
        "rbtree_o": f"kpmwalk -t rbtree -o {f['rb_off']:#x} {f['rb']:x}",
        "list": f"kpmwalk -t list -o {f['module_off']} {f['modules']:x}",
        "list_sym": f"kpmwalk -t list -o {f['module_off']} modules",
        "objects": f"kpmwalk -t list -o {f['object_off']} {f['objects']:x}",
    }


@pytest.fixture(scope="module")
def crash_runs(kml, facts):
    """kpmwalk in crash, and crash's own list and tree on the same structures."""
    f = facts
    kpm = walk_cmds(f)
    own = {
        "idr": f"tree -t xarray -p {f['idr']:x}",
        "xarray": f"tree -t xarray -p {f['xa']:x}",
        "hlist": f"list {f['hlist_nodes'][0]:x}",
        "rbtree_o": f"tree -t rbtree -l -o kmemleak_object.rb_node {f['rb']:x}",
        "list": f"list -H {f['modules']:x} -o module.list",
        "objects": f"list -H {f['objects']:x} -o kmemleak_object.object_list",
    }
    keys = list(kpm) + ["crash_" + k for k in own]
    out = kml.crash_sections(list(kpm.values()) + list(own.values()))
    return dict(zip(keys, out))


def addresses(text):
    """The one-address-per-line output of kpmwalk -t list/hlist/rbtree and crash's list/tree."""
    lines = text.strip().splitlines()
    assert all(re.fullmatch(r"[0-9a-f]{16}", l) for l in lines), text[:2000]
    return [int(l, 16) for l in lines]


def entries(text):
    """kpmwalk -t xarray/idr: "  INDEX: ENTRY" lines."""
    lines = text.strip("\n").splitlines()
    assert all(re.fullmatch(r"  \d+: [0-9a-f]+", l) for l in lines), text[:2000]
    return [(int(i), int(e, 16)) for i, e in (l.split(": ") for l in lines)]


def crash_xarray(text):
    """crash's tree -t xarray -p: an entry line, then its index."""
    return [(int(i), int(e, 16)) for e, i in
            re.findall(r"^([0-9a-f]+)\n  index: (\d+)  position: \S+$", text, flags=re.M)]


def test_idr_is_drgn_s_and_crash_s(crash_runs, facts):
    got = entries(crash_runs["idr"])
    assert got == facts["idr_entries"]
    # init_pid_ns.idr has idr_base 0, so ids are crash's XArray indices
    assert got == crash_xarray(crash_runs["crash_idr"])


def test_xarray_is_drgn_s_and_crash_s(crash_runs, facts):
    got = entries(crash_runs["xarray"])
    assert got == facts["xa_entries"]
    assert got == crash_xarray(crash_runs["crash_xarray"])


def test_hlist_is_drgn_s_and_crash_s(crash_runs, facts):
    got = addresses(crash_runs["hlist"])
    assert got == facts["hlist_nodes"]
    assert got == addresses(crash_runs["crash_hlist"])
    # -o: the task_structs whose pid_links[PIDTYPE_PGID] these are
    assert addresses(crash_runs["hlist_o"]) == facts["hlist_tasks"]


def test_rbtree_is_drgn_s_and_crash_s(crash_runs, facts):
    got = addresses(crash_runs["rbtree"])
    assert got == facts["rb_nodes"]
    objs = addresses(crash_runs["rbtree_o"])
    assert objs == [n - facts["rb_off"] for n in got]
    assert objs == addresses(crash_runs["crash_rbtree_o"])


def test_lists_are_drgn_s_and_crash_s(crash_runs, facts):
    mods = addresses(crash_runs["list"])
    assert mods == facts["module_addrs"] == addresses(crash_runs["crash_list"])
    assert addresses(crash_runs["list_sym"]) == mods
    objs = addresses(crash_runs["objects"])
    assert objs == facts["object_addrs"] == addresses(crash_runs["crash_objects"])


def test_modules_list_with_two_modules(nvme):
    # the nvme fixture loads nvme-core and nvme: a list longer than one
    prog = nvme.program()
    want = [m.value_() for m in list_for_each_entry(
        "struct module", prog["modules"].address_of_(), "list")]
    off = offsetof(prog.type("struct module"), "list")
    head = prog["modules"].address_of_().value_()
    (out,) = nvme.crash_sections([f"kpmwalk -t list -o {off} {head:x}"])
    assert len(want) >= 2 and addresses(out) == want


def test_bad_arguments(kml, facts):
    outs = kml.crash_sections([
        f"kpmwalk {facts['idr']:x}",
        f"kpmwalk -t tree {facts['idr']:x}",
        "kpmwalk -t idr",
        "kpmwalk -t idr no_such_symbol_kpm",
        "kpmwalk -t idr 12345678123456781",
        f"kpmwalk -t idr -o 8 {facts['idr']:x}",
        f"kpmwalk -t list -o 8x {facts['modules']:x}",
        "kpmwalk -t hlist 1000",
    ])
    want = [
        r"kpmwalk: -t is required",
        r"kpmwalk: -t tree: not list, hlist, rbtree, xarray or idr",
        r"kpmwalk: an address is required",
        r"kpmwalk: 'no_such_symbol_kpm' is neither a hexadecimal address nor a symbol",
        r"kpmwalk: address '12345678123456781' is out of range",
        r"kpmwalk: -o applies to list, hlist and rbtree walks, not to -t idr",
        r"kpmwalk: -o: invalid number '8x'",
        r"kpmwalk: hlist at 0x1000: hlist_head.first: invalid address 0x1000",
    ]
    for out, w in zip(outs, want):
        assert re.search(w, out), (w, out)
        assert not re.search(r"^[0-9a-f]{16}$|^  \d+: ", out, flags=re.M), out


def test_kpm_dump_is_crash_s(kml, crash_runs, facts):
    if not os.access(KPM_DUMP, os.X_OK):
        pytest.skip("no standalone/kpm-dump (built on the host only)")
    cmds = walk_cmds(facts)
    for key in ("idr", "xarray", "hlist_o", "rbtree_o", "list_sym"):
        cmd = [KPM_DUMP, "-c", kml.vmcore, "-s", kml.vmlinux]
        for _, path in kml.modules:
            cmd += ["-m", path]
        p = subprocess.run(cmd + cmds[key].split(), capture_output=True, text=True,
                           errors="replace", timeout=300)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == crash_runs[key].strip(), key


def test_drgn_is_crash_s(prog, crash_runs, facts):
    import kpm
    cmds = walk_cmds(facts)
    for key in ("idr", "xarray", "hlist_o", "rbtree_o", "list_sym", "objects"):
        assert kpm.run(prog, *cmds[key].split()).strip() == crash_runs[key].strip(), key


def test_help(kml):
    (out,) = kml.crash_sections(["help kpmwalk"])
    assert "SYNOPSIS" in out and "EXAMPLE" in out
    assert "kpmwalk -t list|hlist|rbtree|xarray|idr [-o offset] address" in out


# Hostile dumps


def poke_arg(phys, value):
    return ["--poke", f"{phys >> 12:#x}:{phys & 0xfff:#x}:{struct.pack('<Q', value).hex()}"]


def xa_nodes(prog, xa):
    """(address, first index, last index, parent) of every xa_node of the
    XArray at @xa, in walk order, read with drgn: what an excluded page
    will cut from the walk."""
    nodes = []

    def visit(entry, base, parent):
        node = Object(prog, "struct xa_node", address=entry - 2)
        shift = node.shift.value_()
        nodes.append((entry - 2, base, base + (len(node.slots) << shift) - 1, parent))
        for i, slot in enumerate(node.slots):
            v = slot.value_()
            if v & 3 == 2 and v > 4096:  # xa_is_node(), include/linux/xarray.h
                visit(v, base + (i << shift), entry - 2)

    head = Object(prog, "struct xarray", address=xa).xa_head.value_()
    if head & 3 == 2 and head > 4096:
        visit(head, 0, 0)
    return nodes


def test_xa_node_page_excluded(kml, prog, facts):
    # A page holding nodes of the page cache XArray is left out of the
    # dump: one line names the first node the walk could not read, and
    # every entry outside the lost nodes' ranges is still printed, in
    # order.  XArray nodes are slab objects shared by every XArray (the pid
    # IDR's too, which crash reads as it starts): the page dropped holds
    # neither the root nor a node of the IDR.
    size = sizeof(prog.type("struct xa_node"))

    def pages(node):  # a slab object may straddle two pages
        return set(range(node >> 12, ((node + size - 1) >> 12) + 1))

    nodes = xa_nodes(prog, facts["xa"])
    keep = set().union(*(pages(n) for n, _, _, _ in nodes[:1] + xa_nodes(prog, facts["idr_rt"])))
    candidates = sorted(set().union(*(pages(n) for n, _, _, _ in nodes)) - keep)
    assert candidates, "every page of the XArray's nodes holds its root or a node of the IDR"
    page = candidates[len(candidates) // 2]
    lost = [x for x in nodes if page in pages(x[0])]
    lost_addrs = {x[0] for x in lost}
    reached = [x for x in lost if x[3] not in lost_addrs]  # the walk meets these
    (vt,) = kml.crash_sections([f"vtop {page << 12:x}"])
    vm = kml.variant("walks-xa-node-excluded", ["--exclude", hex(crash_vtop(vt) >> 12)])
    (out,) = kml.crash_sections([f"kpmwalk -t xarray {facts['xa']:x}"], vmcore=vm)
    want = [(i, e) for i, e in facts["xa_entries"] if not any(lo <= i <= hi for _, lo, hi, _ in lost)]
    assert 0 < len(want) < len(facts["xa_entries"])
    lines = [l for l in out.splitlines() if re.fullmatch(r"  \d+: [0-9a-f]+", l)]
    assert entries("\n".join(lines)) == want
    errs = [l for l in out.splitlines() if l.startswith("kpmwalk: ")]
    assert len(errs) == 1, out
    more = len(reached) - 1
    suffix = f" \\(and {more} more problems?\\)" if more else ""
    assert re.fullmatch(rf"kpmwalk: xarray at {facts['xa']:#x}: xa_node: cannot read \d+ bytes "
                        rf"at {reached[0][0]:#x}: [^()]*{suffix}", errs[0]), errs[0]


def test_hlist_looping_back(kml, prog, facts):
    # The last kernel thread's pid_links.next points back at the second
    # node: the walk must print each node once and name the node whose
    # pprev does not lead back.
    nodes = facts["hlist_nodes"]
    last, target = nodes[-1], nodes[1]
    next_off = offsetof(prog.type("struct hlist_node"), "next")
    (vt,) = kml.crash_sections([f"vtop {last + next_off:x}"])
    vm = kml.variant("walks-hlist-loop", poke_arg(crash_vtop(vt), target))
    (out,) = kml.crash_sections([f"kpmwalk -t hlist {facts['hlist']:x}"], vmcore=vm)
    got = [int(l, 16) for l in out.splitlines() if re.fullmatch(r"[0-9a-f]{16}", l)]
    assert got == nodes
    pprev = nodes[0] + next_off
    assert re.search(rf"^kpmwalk: hlist at {facts['hlist']:#x}: node {target:#x}: pprev {pprev:#x}, "
                     rf"expected {last + next_off:#x}$", out, flags=re.M), out
