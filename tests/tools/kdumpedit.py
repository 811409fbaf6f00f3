#!/usr/bin/env python3
"""
Make hostile variants of a kdump-compressed vmcore, for kpm's tests.

  kdumpedit.py IN OUT [--exclude PFN]... [--poke PFN:OFFSET:HEXBYTES]...
               [--truncate BYTES]

--exclude leaves a page out of the dump the way makedumpfile does for an
excluded page: its bit in the 2nd (dumpable) bitmap is cleared and its page
descriptor removed, so readers report it as excluded.  --poke rewrites bytes
of a dumped page (stored again, uncompressed, at the end of the file): a
corrupted object, a garbage pointer, a cyclic list.  --truncate cuts the file.
The format is makedumpfile's (diskdump_mod.h): header block, sub-header
blocks, 1st and 2nd bitmaps, page descriptors, page data.

As a module (fuzz/dumps), Kdump also stores a page again in either form
makedumpfile writes (zlib-compressed, or plain with flags 0), leaves pages
out consistently or only half (a hostile file), and reads and sets header,
sub-header and page descriptor fields by name.
"""
import argparse
import struct
import sys
import zlib

DESC = struct.Struct("<qIIQ")  # page_desc: offset, size, flags, page_flags
ZLIB = 0x1

# struct disk_dump_header (LP64): name -> (offset, struct format)
HEADER = {
    "header_version": (8, "<i"),
    "status": (424, "<i"),
    "block_size": (428, "<i"),
    "sub_hdr_size": (432, "<i"),
    "bitmap_blocks": (436, "<I"),
    "max_mapnr": (440, "<I"),
    "total_ram_blocks": (444, "<I"),
    "device_blocks": (448, "<I"),
    "written_blocks": (452, "<I"),
    "current_cpu": (456, "<I"),
    "nr_cpus": (460, "<i"),
}
# struct kdump_sub_header (LP64), at block_size
SUB_HEADER = {
    "phys_base": (0, "<Q"),
    "dump_level": (8, "<i"),
    "split": (12, "<i"),
    "start_pfn": (16, "<Q"),
    "end_pfn": (24, "<Q"),
    "offset_vmcoreinfo": (32, "<Q"),
    "size_vmcoreinfo": (40, "<Q"),
    "offset_note": (48, "<Q"),
    "size_note": (56, "<Q"),
    "offset_eraseinfo": (64, "<Q"),
    "size_eraseinfo": (72, "<Q"),
    "start_pfn_64": (80, "<Q"),
    "end_pfn_64": (88, "<Q"),
    "max_mapnr_64": (96, "<Q"),
}
DESC_FIELDS = ("offset", "size", "flags", "page_flags")


class Kdump:
    def __init__(self, data: bytes):
        self.d = bytearray(data)
        if self.d[:8] != b"KDUMP   ":
            raise ValueError("not a kdump-compressed file (makedumpfile -R a flattened one first)")
        # disk_dump_header: timeval at 408 after 8+4+390 bytes and padding
        (self.block_size, self.sub_hdr_size, self.bitmap_blocks,
         self.max_mapnr) = struct.unpack_from("<iiII", self.d, 428)
        bm = (1 + self.sub_hdr_size) * self.block_size
        half = self.bitmap_blocks * self.block_size // 2
        self.bitmap1 = bm
        self.bitmap2 = bm + half
        self.descs = bm + self.bitmap_blocks * self.block_size
        self._rank = None     # (dumpable pfns in order, {pfn: descriptor index})
        self._offsets = None  # {data offset: descriptors pointing there}

    def dumpable(self, pfn):
        return self.d[self.bitmap2 + pfn // 8] >> (pfn % 8) & 1

    def desc(self, i):
        return DESC.unpack_from(self.d, self.descs + i * DESC.size)

    def read_page(self, pfn):
        off, size, flags, _ = self.desc(self.index(pfn))
        raw = bytes(self.d[off:off + size])
        if flags & ZLIB:
            return zlib.decompress(raw)
        if flags:
            raise ValueError(f"page {pfn:#x} uses compression flags {flags:#x}")
        return raw

    def pfns(self):
        """The dumpable pfns (2nd bitmap, below max_mapnr), in order."""
        if self._rank is None:
            pfns = []
            bm = self.d[self.bitmap2:self.bitmap2 + (self.max_mapnr + 7) // 8]
            for byte, b in enumerate(bm):
                while b:
                    low = b & -b
                    pfn = byte * 8 + low.bit_length() - 1
                    if pfn < self.max_mapnr:
                        pfns.append(pfn)
                    b ^= low
            self._rank = (pfns, {p: i for i, p in enumerate(pfns)})
        return self._rank[0]

    def index(self, pfn):
        if not self.dumpable(pfn):
            raise ValueError(f"pfn {pfn:#x} is not in the dump")
        self.pfns()
        return self._rank[1][pfn]

    def count(self):
        return len(self.pfns())

    def set_desc(self, i, **fields):
        old = dict(zip(DESC_FIELDS, self.desc(i)))
        old.update(fields)
        DESC.pack_into(self.d, self.descs + i * DESC.size, *(old[f] for f in DESC_FIELDS))

    def shared(self, i):
        """Whether another descriptor points at descriptor i's data
        (makedumpfile writes the zero page once for all zero pages)."""
        if self._offsets is None:
            self._offsets = {}
            for j in range(self.count()):
                o = self.desc(j)[0]
                self._offsets[o] = self._offsets.get(o, 0) + 1
        return self._offsets.get(self.desc(i)[0], 0) > 1

    def write_page(self, pfn, page, store="raw", level=6):
        """Store @page as pfn's data as makedumpfile writes it: zlib
        (flags 1; plain when that is no smaller, as makedumpfile does) or
        plain (flags 0); over the old data when it fits and no other
        descriptor shares it, else appended to the file."""
        i = self.index(pfn)
        off, size, _, pflags = self.desc(i)
        data, flags = bytes(page), 0
        if store == "zlib":
            z = zlib.compress(data, level)
            if len(z) < len(data):
                data, flags = z, ZLIB
        if len(data) <= size and not self.shared(i):
            self.d[off:off + len(data)] = data
            new = off
        else:
            new = len(self.d)
            self.d += data
        if self._offsets is not None:
            self._offsets[off] -= 1
            self._offsets[new] = self._offsets.get(new, 0) + 1
        DESC.pack_into(self.d, self.descs + i * DESC.size, new, len(data), flags, pflags)

    def exclude(self, pfn, bit=True, desc=True):
        """Leave pfn out as makedumpfile does: its 2nd-bitmap bit cleared
        and its descriptor removed (the table shifts down, its last slot
        keeps its old bytes); bit=False or desc=False does only half of it
        (a hostile, inconsistent file)."""
        i, n = self.index(pfn), self.count()
        self._offsets = None
        if desc:
            a = self.descs + i * DESC.size
            b = self.descs + n * DESC.size
            self.d[a:b - DESC.size] = self.d[a + DESC.size:b]
        if bit:
            self.d[self.bitmap2 + pfn // 8] &= ~(1 << (pfn % 8)) & 0xff
            self._rank = None

    def clear_bitmap1(self, pfn):
        self.d[self.bitmap1 + pfn // 8] &= ~(1 << (pfn % 8)) & 0xff

    def field(self, name):
        """(file offset, struct format) of a header or sub-header field."""
        if name in HEADER:
            return HEADER[name]
        off, fmt = SUB_HEADER[name]
        return self.block_size + off, fmt

    def get(self, name):
        off, fmt = self.field(name)
        return struct.unpack_from(fmt, self.d, off)[0]

    def set(self, name, value):
        off, fmt = self.field(name)
        bits = 8 * struct.calcsize(fmt)
        value %= 1 << bits
        if fmt[-1] in "iq" and value >= 1 << bits - 1:
            value -= 1 << bits
        struct.pack_into(fmt, self.d, off, value)

    def poke(self, pfn, offset, data):
        page = bytearray(self.read_page(pfn))
        page[offset:offset + len(data)] = data
        i = self.index(pfn)
        _, _, _, pflags = self.desc(i)
        off = len(self.d)
        self.d += page
        DESC.pack_into(self.d, self.descs + i * DESC.size, off, len(page), 0, pflags)
        self._offsets = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--exclude", action="append", default=[], type=lambda s: int(s, 0))
    ap.add_argument("--poke", action="append", default=[])
    ap.add_argument("--truncate", type=lambda s: int(s, 0))
    a = ap.parse_args()
    k = Kdump(open(a.input, "rb").read())
    for p in a.poke:
        pfn, off, hexbytes = p.split(":")
        k.poke(int(pfn, 0), int(off, 0), bytes.fromhex(hexbytes))
    for pfn in a.exclude:
        k.exclude(pfn)
    out = bytes(k.d)
    if a.truncate is not None:
        out = out[:a.truncate]
    open(a.output, "wb").write(out)


if __name__ == "__main__":
    sys.exit(main())
