# SPDX-License-Identifier: GPL-2.0
"""
The live-system test's checker (tests/test_live.py), run by drgn inside the
guest on the running kernel:

    drgn /kpm/check.py OUT.json

In one drgn session (one Program on /proc/kcore) it reads the NVMe queues,
kmemleak's objects and the kernel's identity with drgn's own typed reads
(Objects, members, drgn's list helpers; nothing of kpm's), then runs kpm on
the same Program (kpm.run, kpm.objects), and writes both to OUT.json for
the host to compare.  The host imports this file to make the same typed
reads of the dump the guest's kdump saved (typed_*(prog)).

Constants that are #defines in the kernel's C (not in its debug info) are
written here from the 6.1 source, independently of kpm's core.
"""
import json
import os
import sys
import time
import zlib

from drgn import Object, cast
from drgn.helpers import ValidationError
from drgn.helpers.linux.list import list_for_each_entry

# mm/kmemleak.c
OBJECT_ALLOCATED = 1 << 0
OBJECT_REPORTED = 1 << 1
OBJECT_PHYS = 1 << 4
OBJECT_PERCPU = 1 << 5  # kernel-patches/6.1: kmemleak-enable-tracking-for-percpu-pointers
KMEMLEAK_BLACK = -1
HEX_MAX_LINES = 2       # the report's hex dump: 2 rows of 16 bytes
# include/linux/poison.h: list_del_rcu() leaves prev = LIST_POISON2 (x86_64's
# POISON_POINTER_DELTA 0xdead000000000000), as kpm's walk reports it
TORN = "has prev 0xdead000000000122"
# lib/stackdepot.c (6.1)
STACK_ALLOC_ALIGN = 4


def _u(o):
    return o.value_()


def typed_nvme(prog):
    """Every controller bound to nvme_driver, found by drgn's own walk of
    the driver's klist, with every queue's members and its whole CQ and SQ
    rings, read as drgn Objects."""
    drv = prog.object("nvme_driver")
    devs = []
    for dp in list_for_each_entry("struct device_private",
                                  drv.driver.p.klist_devices.k_list.address_of_(),
                                  "knode_driver.n_node"):
        dev = cast("struct nvme_dev *", dp.device.driver_data)
        queues = []
        for i in range(_u(dev.online_queues)):
            q = dev.queues[i]
            depth = _u(q.q_depth)
            head, phase = _u(q.cq_head), _u(q.cq_phase)
            cq = []
            for slot in range(depth):
                e = q.cqes[slot]
                status = _u(e.status)
                cq.append({"slot": slot, "command_id": _u(e.command_id), "status": status,
                           "sq_head": _u(e.sq_head), "sq_id": _u(e.sq_id),
                           "result": _u(e.result.u64), "phase": status & 1,
                           # new for the driver: the phase it expects at
                           # this slot (cq_phase from cq_head on, the other
                           # one before it, written by the last lap)
                           "expected_phase": phase if slot >= head else 1 - phase})
            esz = 1 << _u(q.sqes)
            sq = []
            for slot in range(depth):  # every SQ entry, as a read/write command
                c = Object(prog, "struct nvme_command", address=_u(q.sq_cmds) + slot * esz).rw
                sq.append({"slot": slot, "opcode": _u(c.opcode), "flags": _u(c.flags),
                           "command_id": _u(c.command_id), "nsid": _u(c.nsid),
                           "slba": _u(c.slba), "length": _u(c.length)})
            queues.append({
                "address": q.address_, "qid": _u(q.qid), "q_depth": depth,
                "sq_tail": _u(q.sq_tail), "last_sq_tail": _u(q.last_sq_tail),
                "cq_head": head, "cq_phase": phase, "cq_vector": _u(q.cq_vector),
                "flags": _u(q.flags), "sqes": _u(q.sqes), "sq_dma_addr": _u(q.sq_dma_addr),
                "cq_dma_addr": _u(q.cq_dma_addr), "cqes": _u(q.cqes), "sq_cmds": _u(q.sq_cmds),
                "cq_ring": cq, "sq_ring": sq})
        devs.append({"address": dev.value_(), "instance": _u(dev.ctrl.instance),
                     "pci_device": dev.dev.kobj.name.string_().decode(),
                     "online_queues": _u(dev.online_queues), "queues": queues})
    return devs


def crc32_le(seed, data):
    """The kernel's crc32_le(): zlib's crc32 without its pre/post inversion."""
    return zlib.crc32(data, seed ^ 0xffffffff) ^ 0xffffffff


def stack_entries(prog, handle):
    """The stack depot's entries for @handle (lib/stackdepot.c, 6.1):
    handle_parts gives the slab and the offset of the stack_record."""
    if not handle:
        return []
    parts = Object(prog, "union handle_parts", value={"handle": handle})
    rec = Object(prog, "struct stack_record",
                 address=_u(prog["stack_slabs"][_u(parts.slabindex)]) +
                 (_u(parts.offset) << STACK_ALLOC_ALIGN))
    assert _u(rec.handle.handle) == handle, f"stack record of handle {handle:#x} names another"
    return [_u(rec.entries[i]) for i in range(_u(rec.size))]


def typed_kmemleak(prog):
    """kmemleak's object_list walked with drgn's list_for_each_entry: the
    kmemleak_object addresses in list order, and for the objects that
    /sys/kernel/debug/kmemleak lists (reported and still unreferenced at the
    last scan, mm/kmemleak.c unreferenced_object()) their members, first
    bytes, a CRC of their contents and their allocation backtrace."""
    last_scan = _u(prog["jiffies_last_scan"])
    min_age = _u(prog["jiffies_min_age"])
    cpus = [c for c in range(_u(prog["nr_cpu_ids"]))
            if _u(prog["__cpu_possible_mask"].bits[c // 64]) >> (c % 64) & 1]
    offsets = [_u(prog["__per_cpu_offset"][c]) for c in cpus]
    order, leaks = [], []
    for o in list_for_each_entry("struct kmemleak_object", prog["object_list"].address_of_(),
                                 "object_list"):
        order.append(o.value_())
        flags, count, min_count = _u(o.flags), _u(o.count), _u(o.min_count)
        white = count != KMEMLEAK_BLACK and count < min_count
        aged = ((last_scan - (_u(o.jiffies) + min_age)) & (2**64 - 1)) < 2**63  # time_before_eq
        if not (flags & OBJECT_REPORTED and flags & OBJECT_ALLOCATED and white and aged):
            continue
        ptr, size = _u(o.pointer), _u(o.size)
        if flags & OBJECT_PERCPU:
            copies = [(cpu, prog.read(ptr + off, size)) for cpu, off in zip(cpus, offsets)]
            crc = 0
            for _, b in copies:
                crc = crc32_le(crc, b)  # chained over the possible CPUs (kernel-patches/6.1 0006)
            hexdump = [{"cpu": cpu, "bytes": b[:16 * HEX_MAX_LINES].hex()} for cpu, b in copies]
        else:
            data = prog.read(ptr, size) if not flags & OBJECT_PHYS else None
            crc = crc32_le(0, data) if data is not None else None
            hexdump = [{"bytes": data[:16 * HEX_MAX_LINES].hex()}] if data is not None else []
        leaks.append({
            "address": o.value_(), "pointer": ptr, "size": size, "flags": flags,
            "count": count, "min_count": min_count, "checksum": _u(o.checksum), "crc": crc,
            "jiffies": _u(o.jiffies), "pid": _u(o.pid), "comm": o.comm.string_().decode(),
            "trace_handle": _u(o.trace_handle),
            "backtrace": stack_entries(prog, _u(o.trace_handle)), "hexdump": hexdump})
    return {"order": order, "leaks": leaks, "jiffies_last_scan": last_scan,
            "jiffies_min_age": min_age}


def typed_kernel(prog):
    uts = prog["init_uts_ns"].name
    return {"release": uts.release.string_().decode(), "version": uts.version.string_().decode(),
            "taint": _u(prog["tainted_mask"])}


def typed_log(prog):
    """The printk ring buffer's records, as drgn's own helper reads them."""
    from drgn.helpers.linux.printk import get_printk_records
    return [{"seq": r.seq, "ts_nsec": r.timestamp, "level": r.level,
             "text": r.text.decode(errors="replace")} for r in get_printk_records(prog)]


def main(prog, out):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "drgn-helpers"))
    import kpm

    r = {"timing": {}}

    def timed(name, fn):
        t = time.monotonic()
        try:
            return fn()
        finally:
            r["timing"][name] = round(time.monotonic() - t, 3)

    # drgn's typed reads, then kpm on the same Program, subsystem by subsystem
    # (the walks of each pair are as close in time as they can be)
    r["typed_nvme"] = timed("typed_nvme", lambda: typed_nvme(prog))
    r["kpm_nvmeq"] = json.loads(timed("kpm_nvmeq", lambda: kpm.run(prog, "nvmeq", "-C", "-s", "-j")))
    r["kpm_nvmeq_text"] = kpm.run(prog, "nvmeq")
    devs = list(kpm.objects(prog, "nvmeq", "dev"))
    r["kpm_objects_nvme"] = [{"dev": d.value_(), "type": d.type_.type_name(),
                              "queues": [q.value_() for q in kpm.objects(prog, "nvmeq", "queue", parent=d)]}
                             for d in devs]
    # kpm's walks of the live object_list, each again (at most three times
    # in all) when kpm says it was torn (an entry unlinked under it, see
    # tests/live/init); r["torn"] keeps what kpm said
    r["torn"] = []

    def untorn(name, fn):
        for _ in range(3):
            try:
                v = timed(name, fn)
            except ValidationError as e:
                v = e
            text = str(v) if isinstance(v, ValidationError) else v if isinstance(v, str) else ""
            if TORN not in text:
                break
            r["torn"].append([name, text])
        if isinstance(v, ValidationError):
            raise v
        return v

    r["typed_kmemleak"] = timed("typed_kmemleak", lambda: typed_kmemleak(prog))
    objs = untorn("kpm_objects_kmemleak", lambda: list(kpm.objects(prog, "kmemleak", "object")))
    r["kpm_objects_kmemleak"] = [o.value_() for o in objs]
    r["kpm_objects_kmemleak_type"] = objs[0].type_.type_name() if objs else None
    r["kpm_kmemleak"] = json.loads(untorn("kpm_kmemleak", lambda: kpm.run(prog, "kmemleak", "-l", "-x", "-j")))
    r["typed_kernel"] = typed_kernel(prog)
    r["kpm_triage"] = json.loads(untorn("kpm_triage", lambda: kpm.run(prog, "triage", "-j")))
    r["typed_log"] = typed_log(prog)
    with open(out, "w") as f:
        json.dump(r, f)
    print("check.py:", json.dumps(r["timing"]))


if __name__ == "__main__" and "prog" in globals():
    main(prog, sys.argv[1])  # noqa: F821 (drgn's global)
