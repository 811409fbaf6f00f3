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
"""
import argparse
import struct
import sys
import zlib

DESC = struct.Struct("<qIIQ")  # page_desc: offset, size, flags, page_flags
ZLIB = 0x1


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
        self.bitmap2 = bm + half
        self.descs = bm + self.bitmap_blocks * self.block_size

    def dumpable(self, pfn):
        return self.d[self.bitmap2 + pfn // 8] >> (pfn % 8) & 1

    def index(self, pfn):
        if not self.dumpable(pfn):
            raise ValueError(f"pfn {pfn:#x} is not in the dump")
        start = self.bitmap2
        full = pfn // 8
        n = sum(bin(b).count("1") for b in self.d[start:start + full])
        n += bin(self.d[start + full] & ((1 << (pfn % 8)) - 1)).count("1")
        return n

    def count(self):
        return sum(bin(b).count("1") for b in self.d[self.bitmap2:self.bitmap2 + (self.max_mapnr + 7) // 8])

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

    def exclude(self, pfn):
        i, n = self.index(pfn), self.count()
        a = self.descs + i * DESC.size
        b = self.descs + n * DESC.size
        self.d[a:b - DESC.size] = self.d[a + DESC.size:b]
        self.d[self.bitmap2 + pfn // 8] &= ~(1 << (pfn % 8)) & 0xff

    def poke(self, pfn, offset, data):
        page = bytearray(self.read_page(pfn))
        page[offset:offset + len(data)] = data
        i = self.index(pfn)
        _, _, _, pflags = self.desc(i)
        off = len(self.d)
        self.d += page
        DESC.pack_into(self.d, self.descs + i * DESC.size, off, len(page), 0, pflags)


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
