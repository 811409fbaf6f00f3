# SPDX-License-Identifier: GPL-2.0
"""A dump file's structure is checked before libkdumpfile reads it
(core/dumpfile.c): bookworm's libkdumpfile 0.5.1 dies of SIGBUS on a file
cut inside its bitmaps or with a huge size_note, and of SIGSEGV on a page
descriptor larger than a block.  kpm-dump must refuse such a file with one
line naming what is wrong, warn about (and still decode) a file cut inside
its page data, and never be killed.

The damaged copies are made here from the real fixture; what each one must
report (which part the cut falls in, how many pages lie past the end) is
computed from the file with this module's own reading of makedumpfile's
format, not from kpm.
"""
import os
import re
import struct
import subprocess

import pytest

from conftest import BASES, DRGN_HELPERS, PYTHON, fixture

DESC = struct.Struct("<qIIQ")


class Layout:
    """makedumpfile's kdump-compressed layout (diskdump_mod.h)."""

    def __init__(self, path):
        self.d = open(path, "rb").read()
        assert self.d[:8] == b"KDUMP   "
        self.version = struct.unpack_from("<i", self.d, 8)[0]
        self.block, self.sub, self.bitmap_blocks = struct.unpack_from("<iiI", self.d, 428)
        self.bitmaps = (1 + self.sub) * self.block
        self.descs = self.bitmaps + self.bitmap_blocks * self.block
        half = self.bitmap_blocks * self.block // 2
        max_mapnr = struct.unpack_from("<Q", self.d, self.block + 96)[0]
        bm2 = self.d[self.bitmaps + half:self.bitmaps + half + (max_mapnr + 7) // 8]
        self.n = sum(bin(b).count("1") for b in bm2)

    def desc(self, i):
        return DESC.unpack_from(self.d, self.descs + i * DESC.size)

    def past(self, size):
        """(count, first index) of the pages whose data ends past @size."""
        past = [i for i in range(self.n) if sum(self.desc(i)[:2]) > size]
        return len(past), past[0] if past else None


@pytest.fixture(scope="module", params=BASES)
def fx(request):
    return fixture(f"{request.param}-nvme")


@pytest.fixture(scope="module")
def layout(fx):
    return Layout(fx.vmcore)


def variant(fx, name, data):
    path = os.path.join(fx.out, f"vmcore.{name}")
    with open(path, "wb") as f:
        f.write(data)
    return path


def refused(fx, path, pattern):
    rc, out, err = fx.kpm_dump(["nvmeq"], vmcore=path)
    assert rc == 1, (rc, err)  # refused, not killed by a signal
    lines = err.splitlines()
    assert len(lines) == 1 and re.fullmatch(rf"kpm-dump: {re.escape(path)}: {pattern}", lines[0]), err
    return lines[0]


def test_cut_before_the_pages(fx, layout):
    """Cuts inside the header, the sub-header, the bitmaps and the page
    descriptor table: each refused with the part it falls in."""
    cuts = {
        200: r"truncated: 200 bytes, inside the kdump header",
        layout.block + 50: r"truncated or corrupt: the header and sub-header, .*",
        layout.bitmaps + layout.block: r"truncated or corrupt: the page bitmaps, .*",
        layout.descs + DESC.size * (layout.n // 2): r"truncated or corrupt: the page descriptor table, "
                                                    rf"{layout.n * DESC.size} bytes at offset {layout.descs}, .*",
    }
    for cut, pattern in cuts.items():
        refused(fx, variant(fx, f"cut{cut}", layout.d[:cut]), pattern)


def test_cut_inside_the_pages(fx, layout):
    """A file cut in its page data is decoded with a warning that says how
    many pages are lost; the pages before the cut still read."""
    cut = len(layout.d) * 9 // 10
    count, first = layout.past(cut)
    assert count > 0
    path = variant(fx, "cut90", layout.d[:cut])
    rc, out, err = fx.kpm_dump(["nvmeq"], vmcore=path)
    assert rc in (0, 1), err
    assert err.splitlines()[0] == (f"kpm-dump: {path}: warning: truncated: {count} of its {layout.n} pages "
                                   f"(from page descriptor {first}) lie beyond the end of the file "
                                   f"({cut} bytes) and read as missing"), err


def test_corrupt_page_descriptor(fx, layout):
    """A descriptor larger than a block (libkdumpfile 0.5.1: SIGSEGV in
    kdump_read) is refused, naming the descriptor."""
    d = bytearray(layout.d)
    i = layout.n // 3
    off, size, flags, pflags = layout.desc(i)
    DESC.pack_into(d, layout.descs + i * DESC.size, off, 2 * layout.block, flags, pflags)
    refused(fx, variant(fx, "bigdesc", bytes(d)),
            rf"corrupt page descriptor {i} of {layout.n}: offset {off}, size {2 * layout.block} "
            rf"\(block size {layout.block}\), flags {flags:#x}")


def test_huge_size_note(fx, layout):
    """A sub-header whose size_note is huge (libkdumpfile 0.5.1: SIGBUS in
    kdump_open_fdset) is refused."""
    assert layout.version >= 4
    d = bytearray(layout.d)
    struct.pack_into("<Q", d, layout.block + 56, 1 << 40)
    refused(fx, variant(fx, "hugenote", bytes(d)), rf"corrupt kdump sub-header: size_note {1 << 40}")
    struct.pack_into("<Q", d, layout.block + 56, len(d))
    refused(fx, variant(fx, "longnote", bytes(d)), r"truncated or corrupt: the ELF notes, .*")


def test_flattened_and_foreign_files(fx, layout):
    flat = b"makedumpfile" + bytes(4096 - 12)
    refused(fx, variant(fx, "flat", flat), r"makedumpfile's flattened format: rearrange it first .*")
    refused(fx, variant(fx, "text", b"hello\n" * 100), r"not a vmcore: .*")


def test_kpm_drgn_checks_before_drgn(fx, layout):
    """kpm_drgn.py, run as a command, checks the file before it starts drgn
    (whose libkdumpfile would read it unchecked)."""
    d = bytearray(layout.d)
    struct.pack_into("<Q", d, layout.block + 56, 1 << 40)
    path = variant(fx, "hugenote", bytes(d))
    p = subprocess.run([PYTHON, os.path.join(DRGN_HELPERS, "kpm_drgn.py"), "-c", path, "-s", fx.vmlinux,
                        "nvmeq"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and p.stderr == (f"kpm_drgn.py: {path}: corrupt kdump sub-header: "
                                              f"size_note {1 << 40}\n"), p.stderr


def test_cut_through_a_page(fx, layout):
    """A cut inside a page's data that runs past the end of the file's
    last (4 KiB) page: libkdumpfile maps the file and dies of SIGBUS
    reading that page.  kpm-dump reads such a file unmapped (the page
    reads as missing); kpm_drgn.py, whose drgn maps it, refuses it in one
    line (found by fuzz/dumps: fuzz/dump-corpus/cut-through-a-page.json)."""
    page = os.sysconf("SC_PAGESIZE")
    for i in range(layout.n // 2, layout.n):
        off, size, flags, _ = layout.desc(i)
        if size > 1 and off // page != (off + size - 1) // page:
            break
    cut = off + 1
    count, first = layout.past(cut)
    path = variant(fx, "cutpage", layout.d[:cut])
    rc, out, err = fx.kpm_dump(["triage"], vmcore=path)
    assert rc in (0, 1), err  # not killed
    warning = (f"truncated: {count} of its {layout.n} pages (from page descriptor {first}) lie beyond "
               f"the end of the file ({cut} bytes) and read as missing")
    assert err.splitlines()[0] == f"kpm-dump: {path}: warning: {warning}", err
    p = subprocess.run([PYTHON, os.path.join(DRGN_HELPERS, "kpm_drgn.py"), "-c", path, "-s", fx.vmlinux,
                        "triage"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and p.stderr.splitlines() == [
        f"kpm_drgn.py: {path}: {warning}; a page's data crosses the end of the file's last page, where "
        f"drgn's libkdumpfile (it maps the file) dies of SIGBUS: read it with kpm-dump"], p.stderr


def test_header_max_mapnr(fx, layout):
    """The header's 32-bit max_mapnr beyond the bitmaps (the sub-header's
    max_mapnr_64 intact): libkdumpfile refuses the file and drgn 0.0.22
    then dies in kdump_free(); kpm refuses it first, naming the field
    (fuzz/dump-corpus/header-max-mapnr-32.json)."""
    d = bytearray(layout.d)
    half = layout.bitmap_blocks * layout.block // 2
    struct.pack_into("<I", d, 440, half * 8 + 1)
    refused(fx, variant(fx, "mapnr32", bytes(d)),
            rf"corrupt kdump header: max_mapnr {half * 8 + 1} exceeds the bitmaps \({half * 8} pages\)")
