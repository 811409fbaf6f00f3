# SPDX-License-Identifier: GPL-2.0
"""kpm on a live system, then on the dump of that same system.

The 6.1 fixture kernel (fixtures/vmcores/kernel-6.1/bzImage.xz) boots under
QEMU (TCG) with a Debian bookworm userland in its initramfs
(tests/live/mkimage, tools/mk-live-root): python3-drgn, the kernel's debug
info where Debian's -dbg packages put it, kpm's drgn helpers.  The guest
(tests/live/init) loads nvme for QEMU's NVMe controller and kmemleak-test,
runs the drgn scripts (nvmeq.py, kmemleak.py, triage.py) on /proc/kcore and
tests/live/check.py, which reads the same objects with drgn's own typed
reads and runs kpm's Python API in that same drgn session; then kdump
saves the guest's memory after a sysrq crash.

Compared here:
  - live kpm (kpm.run, kpm.objects) with drgn's typed reads of the same
    session: equal for everything that does not change (the idle NVMe
    device's queues and rings, kmemleak's reported leaks);
  - live kpm with the kernel's own /sys/kernel/debug/kmemleak report;
  - the scripts (separate drgn processes) with that session;
  - live with post-mortem: the dump decoded by drgn and by kpm-dump on the
    host, and read with the same typed reads (tests/live/check.py).
Expected values never come from kpm: they come from drgn's typed reads,
the kernel's own report and console, and the scenario (an idle, healthy
NVMe device; kmemleak-test's leaks).

The guest's image is made once and kept in build/live-6.1/ (rebuilt when
an input changes; its Debian root in build/live-root-bookworm/); each run
boots it (about two minutes of TCG) and leaves the guest's results, console
and dump in tests/out/live-6.1/.  KPM_LIVE_KERNEL=DIR takes the kernel from
DIR instead of fixtures/vmcores/kernel-6.1 (tests/live/mkimage),
KPM_LIVE_IMAGE=DIR keeps the image there, KPM_LIVE_REUSE=1 compares the
last run's results again without booting.
"""
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tarfile
import time

import pytest

from conftest import BASES, FIXTURES, KPM_DUMP, TOP

LIVE = os.path.join(TOP, "tests", "live")
IMAGE = os.environ.get("KPM_LIVE_IMAGE", os.path.join(TOP, "build", "live-6.1"))
WORK = os.path.join(TOP, "tests", "out", "live-6.1")
MODULES = ["nvme-core", "nvme", "kmemleak-test"]


def load(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


# the typed reads the guest made, to make them of the dump
check = load("kpm_live_check", os.path.join(LIVE, "check.py"))
# the kernel's own report parser, as the kmemleak fixtures' manifests use it
write_manifest = load("write_manifest", os.path.join(FIXTURES, "write-manifest"))

pytestmark = pytest.mark.skipif("6.1" not in BASES, reason="the live guest runs the 6.1 fixture kernel")

# QEMU as the fixtures are made (docs/fixtures.md), TCG: -cpu max without
# 5-level paging; 2 vCPUs (two NVMe I/O queues); the initramfs (300 MB)
# is unpacked into RAM and drgn needs room beside it; kdump reserves 256 MB.
QEMU = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max,la57=off", "-smp", "2", "-m", "1536",
        "-nographic", "-no-reboot", "-monitor", "none"]
APPEND = "console=ttyS0 crashkernel=256M panic=0 loglevel=6"
BOOT_TIMEOUT = 900


class Run:
    """One boot: what the guest wrote (self.out), its console, the dump.
    KPM_LIVE_REUSE=1 takes them from the last run's tests/out/live-6.1/
    instead of booting again (for work on the comparisons)."""

    def __init__(self):
        self.vmlinux = os.path.join(IMAGE, "dbg", "vmlinux")
        self.modules = [os.path.join(IMAGE, "dbg", m + ".ko") for m in MODULES]
        self.out = os.path.join(WORK, "out")
        self.vmcore = os.path.join(WORK, "vmcore")
        self.console_log = os.path.join(WORK, "console.log")
        if os.environ.get("KPM_LIVE_REUSE") and os.path.exists(self.vmcore):
            self.image_s = self.boot_s = 0
            self.console = open(self.console_log, errors="replace").read().replace("\r", "")
            return
        t0 = time.monotonic()
        subprocess.run([os.path.join(LIVE, "mkimage"), IMAGE], check=True)
        self.image_s = time.monotonic() - t0
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        disks = {}
        for name, size in (("dump", 256), ("out", 64), ("nvme", 64)):
            disks[name] = os.path.join(WORK, name + ".img")
            with open(disks[name], "wb") as f:
                f.truncate(size << 20)
        cmd = QEMU + ["-serial", f"file:{self.console_log}",
                      "-kernel", os.path.join(IMAGE, "bzImage"),
                      "-initrd", os.path.join(IMAGE, "initrd.cpio"), "-append", APPEND,
                      # /dev/vda: the dump (the capture kernel's only disk
                      # driver is virtio-blk), /dev/vdb: the results
                      "-drive", f"file={disks['dump']},if=virtio,format=raw",
                      "-drive", f"file={disks['out']},if=virtio,format=raw",
                      "-drive", f"file={disks['nvme']},if=none,id=nv0,format=raw",
                      "-device", "nvme,serial=kpm0001,drive=nv0"]
        with open(os.path.join(WORK, "qemu-cmdline"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=BOOT_TIMEOUT)
        self.boot_s = time.monotonic() - t0
        self.console = open(self.console_log, errors="replace").read().replace("\r", "")
        tail = self.console[-4000:]
        assert p.returncode == 0, f"qemu: {p.returncode} {p.stderr}\n{tail}"
        os.makedirs(self.out)
        try:
            with tarfile.open(disks["out"]) as t:
                t.extractall(self.out)
        except tarfile.TarError as e:
            raise AssertionError(f"the guest wrote no results ({e}):\n{tail}") from None
        assert not os.path.exists(os.path.join(self.out, "failed")), \
            open(os.path.join(self.out, "failed")).read() + tail
        assert "kpm-capture: makedumpfile exit 0" in self.console, f"no dump saved:\n{tail}"
        with open(disks["dump"], "rb") as f:
            subprocess.run(["makedumpfile", "-R", self.vmcore], stdin=f, check=True,
                           capture_output=True)
        os.unlink(disks["dump"])

    def text(self, name):
        return open(os.path.join(self.out, name), errors="replace").read()

    def json(self, name):
        return json.loads(self.text(name))

    def drgn(self, script, *args):
        """drgn on the dump, with the debug info the guest had; stdout."""
        cmd = ["drgn", "-c", self.vmcore, "-s", self.vmlinux]
        for m in self.modules:
            cmd += ["-s", m]
        p = subprocess.run(cmd + [os.path.join(TOP, "drgn-helpers", script), *args],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
        return p.stdout

    def kpm_dump(self, *args):
        cmd = [KPM_DUMP, "-c", self.vmcore, "-s", self.vmlinux]
        for m in self.modules:
            cmd += ["-m", m]
        p = subprocess.run(cmd + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def program(self):
        import drgn
        prog = drgn.Program()
        prog.set_core_dump(self.vmcore)
        prog.load_debug_info([self.vmlinux] + self.modules)
        return prog


@pytest.fixture(scope="module")
def run():
    r = Run()
    print(f"live: image {r.image_s:.0f} s, boot to dump {r.boot_s:.0f} s")
    return r


@pytest.fixture(scope="module")
def live(run):
    """What check.py wrote: typed reads and kpm in one drgn session."""
    return run.json("check.json")


@pytest.fixture(scope="module")
def dump(run):
    """The dump: drgn's typed reads, and kpm through drgn and kpm-dump."""
    prog = run.program()
    return {
        "typed_nvme": check.typed_nvme(prog),
        "typed_kmemleak": check.typed_kmemleak(prog),
        "typed_kernel": check.typed_kernel(prog),
        "nvmeq": json.loads(run.drgn("nvmeq.py", "-C", "-s", "-j")),
        "nvmeq_text": run.drgn("nvmeq.py"),
        "kmemleak": json.loads(run.drgn("kmemleak.py", "-l", "-x", "-j")),
        "kmemleak_text": run.drgn("kmemleak.py", "-l", "-x"),
        "triage": json.loads(run.drgn("triage.py", "-j")),
    }


def addr(v):
    """kpm's JSON writes addresses as "0x..." strings"""
    return int(v, 16) if isinstance(v, str) and v.startswith("0x") else v


# kpm's JSON against drgn's typed reads

QUEUE_MEMBERS = ("qid", "q_depth", "sq_tail", "last_sq_tail", "cq_head", "cq_phase", "cq_vector",
                 "flags", "sqes", "sq_dma_addr", "cq_dma_addr")


def pending(tq):
    """The CQ entries new for the driver: from cq_head on, while the phase
    says so (what nvme_cqe_pending() tests, entry after entry)."""
    n = 0
    while n < tq["q_depth"]:
        e = tq["cq_ring"][(tq["cq_head"] + n) % tq["q_depth"]]
        if e["phase"] != e["expected_phase"]:
            break
        n += 1
    return n


def assert_nvmeq_is_typed(kj, typed, what):
    """kpm's `nvmeq -C -s -j` against drgn's typed reads of every
    controller, queue, CQ slot and the SQ entries kpm shows."""
    assert len(kj["controllers"]) == len(typed) >= 1, what
    for kc, tc in zip(kj["controllers"], typed):
        for k in ("address", "instance", "pci_device", "online_queues"):
            assert addr(kc[k]) == tc[k], (what, k)
        assert len(kc["queues"]) == len(tc["queues"]) == tc["online_queues"], what
        for kq, tq in zip(kc["queues"], tc["queues"]):
            w = f"{what} qid {tq['qid']}"
            for k in QUEUE_MEMBERS:
                assert kq[k] == tq[k], (w, k, kq[k], tq[k])
            for k in ("address", "cqes", "sq_cmds"):
                assert addr(kq[k]) == tq[k], (w, k)
            n = pending(tq)
            assert kq["pending"] == n, w
            assert len(kq["cq_ring"]) == len(tq["cq_ring"]) == tq["q_depth"], w
            for ke, te in zip(kq["cq_ring"], tq["cq_ring"]):
                for k in ("slot", "command_id", "status", "sq_head", "sq_id", "result", "phase"):
                    assert ke[k] == te[k], (w, te["slot"], k, ke[k], te[k])
                assert (ke["genctr"], ke["tag"]) == (te["command_id"] >> 12, te["command_id"] & 0xfff)
                assert ke["new"] == ((te["slot"] - tq["cq_head"]) % tq["q_depth"] < n), (w, te["slot"])
            # -s: the entries just before sq_tail, each as drgn reads that slot
            slots = [e["slot"] for e in kq["sq_ring"]]
            assert slots == [(tq["sq_tail"] - len(slots) + i) % tq["q_depth"] for i in range(len(slots))]
            assert slots, w
            for e in kq["sq_ring"]:
                te = tq["sq_ring"][e["slot"]]
                assert {k: e[k] for k in te} == te, (w, te["slot"])


def kind(flags):
    return "percpu" if flags & check.OBJECT_PERCPU else "phys" if flags & check.OBJECT_PHYS else "virtual"


def assert_leaks_are_typed(kj, typed, what):
    """kpm's `kmemleak -l -x -j` against drgn's typed walk of object_list
    (the objects the kernel reports), their bytes and stack depot entries."""
    kl = {addr(o["pointer"]): o for o in kj["objects"]}
    tl = {o["pointer"]: o for o in typed["leaks"]}
    assert set(kl) == set(tl) and tl, (what, sorted(set(kl) ^ set(tl)))
    for p, t in tl.items():
        o = kl[p]
        w = f"{what} {p:#x}"
        for k in ("address", "size", "flags", "count", "min_count", "checksum", "jiffies", "pid",
                  "comm", "trace_handle"):
            assert addr(o[k]) == t[k], (w, k, o[k], t[k])
        assert o["kind"] == kind(t["flags"]), w
        assert o["checksum_recomputed"] == t["crc"] and o["checksum_state"] == "ok", w
        assert [addr(f["address"]) for f in o["backtrace"]] == t["backtrace"], w
        assert o["hexdump"] == t["hexdump"], w
    s = kj["summary"]["reported"]
    kinds = [kind(t["flags"]) for t in tl.values()]
    assert s == {k: kinds.count(k) for k in ("virtual", "phys", "percpu")}, what


def strip_ages(j):
    """kmemleak's JSON without what only says when it was read: an object's
    age (jiffies now - jiffies at allocation) and the summary's counts of
    all objects, which the drgn processes' own allocations change."""
    return [{k: v for k, v in o.items() if k != "age_ms"} for o in j["objects"]]


# The live session

def test_guest_ran_every_script(run, live):
    for n in ("nvmeq.json", "nvmeq.txt", "kmemleak.json", "kmemleak.txt", "triage.json", "check.out"):
        err = run.text(n + ".err")
        assert run.text(n + ".rc").strip() == "0" and "Traceback" not in err, (n, err)
    # drgn found the debug info the guest has, the modules' too: nothing missing
    for n in ("nvmeq.json", "kmemleak.json", "triage.json", "check.out"):
        assert "could not get debugging information" not in run.text(n + ".err"), run.text(n + ".err")
    # a walk torn three times in a row (tests/live/init runs it again when
    # kpm says an entry was unlinked under it) would leave nothing to compare
    for n in ("nvmeq.json", "nvmeq.txt", "kmemleak.json", "kmemleak.txt", "triage.json"):
        assert check.TORN not in run.text(n), n
    torn = sorted(f for f in os.listdir(run.out) if ".torn" in f)
    print(f"live: torn walks run again: {torn + [t[0] for t in live['torn']]}")
    mods = {l.split()[0] for l in run.text("modules").splitlines()}
    assert {"nvme", "nvme_core", "kmemleak_test"} <= mods


def test_guest_ran_the_kernel_of_the_debug_info(run, live):
    """The kernel's build ID (its ELF notes) is vmlinux's, and drgn's typed
    read of init_uts_ns is what the running kernel says of itself."""
    readelf_n = subprocess.run(["readelf", "-n", run.vmlinux], capture_output=True,
                               text=True, check=True).stdout
    build_id = re.search(r"Build ID: ([0-9a-f]+)", readelf_n).group(1)
    notes = open(os.path.join(run.out, "kernel-notes"), "rb").read()
    assert bytes.fromhex(build_id) in notes
    assert f"Linux version {live['typed_kernel']['release']} " in run.console
    assert live["typed_kernel"]["version"] in run.console


def test_live_nvmeq_is_drgns_typed_reads(live):
    assert_nvmeq_is_typed(live["kpm_nvmeq"], live["typed_nvme"], "live")
    # the scenario: a healthy idle device, both I/O queues used
    assert live["kpm_nvmeq"]["diagnosis"] == []
    (tc,) = live["typed_nvme"]
    assert [q["qid"] for q in tc["queues"]] == [0, 1, 2]
    assert all(q["sq_tail"] for q in tc["queues"])
    assert all(pending(q) == 0 for q in tc["queues"])


def test_live_nvme_objects_are_drgns(live):
    (d,) = live["kpm_objects_nvme"]
    (tc,) = live["typed_nvme"]
    assert d["type"] == "struct nvme_dev *" and d["dev"] == tc["address"]
    assert d["queues"] == [q["address"] for q in tc["queues"]]


def test_live_leaks_are_drgns_typed_reads(live):
    assert_leaks_are_typed(live["kpm_kmemleak"], live["typed_kmemleak"], "live")


def test_live_kmemleak_objects_follow_drgns_walk(live):
    """kpm.objects() and drgn's list_for_each_entry walk the live
    object_list one after the other; between them the drgn process itself
    (and the kernel's threads) allocate and free, so the two walks differ by
    those objects.  What both saw they must have seen in the same order (the
    list only grows at its tail), the reported leaks among it."""
    typed = live["typed_kmemleak"]["order"]
    kpm_ = live["kpm_objects_kmemleak"]
    assert live["kpm_objects_kmemleak_type"] == "struct kmemleak_object *"
    both = set(typed) & set(kpm_)
    assert [a for a in kpm_ if a in both] == [a for a in typed if a in both]
    assert {o["address"] for o in live["typed_kmemleak"]["leaks"]} <= both
    # churn between two walks a moment apart in an idle guest is small
    # (none in the runs measured: 35,141 objects each)
    assert len(both) >= 0.99 * max(len(typed), len(kpm_)), (len(typed), len(kpm_), len(both))


def test_live_leaks_are_the_kernels_report(run, live):
    report = write_manifest.kmemleak_report(run.text("kmemleak-report").splitlines())
    kl = {addr(o["pointer"]): o for o in live["kpm_kmemleak"]["objects"]}
    assert set(kl) == {g["pointer"] for g in report}
    for g in report:
        o = kl[g["pointer"]]
        assert (o["size"], o["comm"], o["pid"], o["jiffies"]) == (g["size"], g["comm"], g["pid"], g["jiffies"])
        assert len(o["backtrace"]) == len(g["backtrace"])
        for mine, theirs in zip(o["backtrace"], g["backtrace"]):
            if theirs["symbol"] is None:  # freed __init text: %pS prints the address
                assert mine["symbol"] == "" and addr(mine["address"]) == theirs["address"]
            else:
                assert (mine["symbol"], mine["offset"]) == (theirs["symbol"], theirs["offset"])
        if g.get("hexdump_cpu") is not None:
            (h,) = [h for h in o["hexdump"] if h["cpu"] == g["hexdump_cpu"]]
        else:
            (h,) = o["hexdump"]
        assert h["bytes"] == "".join(l.split("  ")[0].replace(" ", "") for l in g["hexdump"])
    # the scenario: kmemleak-test leaks 8 kmalloc, 5 vmalloc and one per-CPU
    # block (modprobe loads it).  kmemleak is conservative: a stale copy of
    # a block's address anywhere in memory keeps it from being reported (one
    # run here did not report the two kmalloc(4096) blocks), so only the
    # per-CPU block is certain.
    percpu = [g for g in report if g.get("hexdump_cpu") is not None]
    assert [(g["comm"], g["size"]) for g in percpu] == [("modprobe", 64)]


def test_live_triage_is_drgns_typed_reads(live):
    t = live["kpm_triage"]
    tk = live["typed_kernel"]
    assert (t["kernel"]["release"], t["kernel"]["version"], t["kernel"]["taint"]) == (
        tk["release"], tk["version"], tk["taint"])
    assert t["panic"]["message"] is None  # a running kernel
    # the last log records, as drgn's printk helper read them just after
    # (records are only added, so each of kpm's is there by its seq)
    log = {r["seq"]: r for r in live["typed_log"]}
    assert t["log"] and [log[r["seq"]] for r in t["log"]] == t["log"]
    dec = {d["name"]: d for d in t["decoders"]}
    assert dec["nvmeq"]["status"] == "nothing_wrong"
    assert dec["kmemleak"]["status"] == "ok"
    pointers = {addr(p) for f in dec["kmemleak"]["findings"] for p in f["data"]["pointers"]}
    assert pointers == {o["pointer"] for o in live["typed_kmemleak"]["leaks"]}


def test_scripts_agree_with_the_session(run, live):
    """nvmeq.py, kmemleak.py and triage.py ran as scripts, each its own
    drgn process, before check.py: what does not change must be equal."""
    assert run.json("nvmeq.json") == live["kpm_nvmeq"]
    assert run.text("nvmeq.txt") == live["kpm_nvmeq_text"]
    k = run.json("kmemleak.json")
    assert strip_ages(k) == strip_ages(live["kpm_kmemleak"])
    assert k["summary"]["reported"] == live["kpm_kmemleak"]["summary"]["reported"]
    t = run.json("triage.json")
    assert t["kernel"] == live["kpm_triage"]["kernel"]
    dec = {d["name"]: d for d in live["kpm_triage"]["decoders"]}
    for d in t["decoders"]:
        assert d["status"] == dec[d["name"]]["status"], d["name"]
        if d["name"] != "kmemleak":
            assert d == dec[d["name"]]
    # kmemleak's triage finding names the same blocks; its `info` line
    # counts all objects, which changed in between
    assert [f["data"]["pointers"] for f in {d["name"]: d for d in t["decoders"]}["kmemleak"]["findings"]] == \
        [f["data"]["pointers"] for f in dec["kmemleak"]["findings"]]


# Live against post-mortem

def test_dump_nvmeq_is_the_live_one(live, dump):
    """An idle device: every queue, ring slot and SQ entry is what the live
    system showed, in drgn's typed reads and in kpm's."""
    assert dump["typed_nvme"] == live["typed_nvme"]
    assert dump["nvmeq"] == live["kpm_nvmeq"]
    assert dump["nvmeq_text"] == live["kpm_nvmeq_text"]


def test_dump_leaks_are_the_live_ones(live, dump):
    """No scan ran after the live reads, so the reported leaks, their bytes
    and bookkeeping are the same in the dump; the rest of object_list is
    not (the drgn processes' allocations, the crash)."""
    assert dump["typed_kmemleak"]["leaks"] == live["typed_kmemleak"]["leaks"]
    assert dump["typed_kmemleak"]["jiffies_last_scan"] == live["typed_kmemleak"]["jiffies_last_scan"]
    assert strip_ages(dump["kmemleak"]) == strip_ages(live["kpm_kmemleak"])


def test_dump_kpm_is_drgns_typed_reads(dump):
    assert_nvmeq_is_typed(dump["nvmeq"], dump["typed_nvme"], "dump")
    assert_leaks_are_typed(dump["kmemleak"], dump["typed_kmemleak"], "dump")


def test_dump_kmemleak_text_is_the_live_one(run, dump):
    """The objects as kmemleak.py prints them, live and from the dump; ages
    are when each was read, the summary counts all objects (which changed)."""
    def objects(t):
        assert "unreferenced object" in t, t
        return re.sub(r"\(age [0-9.]+s\)", "(age)", t[t.index("unreferenced object"):])
    assert objects(dump["kmemleak_text"]) == objects(run.text("kmemleak.txt"))


def test_dump_triage(run, live, dump):
    t = dump["triage"]
    assert t["kernel"] == live["kpm_triage"]["kernel"]
    assert (t["kernel"]["release"], t["kernel"]["taint"]) == (dump["typed_kernel"]["release"],
                                                            dump["typed_kernel"]["taint"])
    # the panic the guest's console printed
    m = re.search(r"Kernel panic - not syncing: (.*)", run.console)
    assert t["panic"]["message"] == f"Kernel panic - not syncing: {m.group(1).strip()}"
    assert "sysrq" in t["panic"]["message"]
    live_dec = {d["name"]: d for d in live["kpm_triage"]["decoders"]}
    for d in t["decoders"]:
        assert d["status"] == live_dec[d["name"]]["status"], d["name"]
    assert [d["findings"] for d in t["decoders"] if d["name"] == "nvmeq"] == [[]]


def test_kpm_dump_reads_the_dump_as_drgn_does(run, dump):
    assert json.loads(run.kpm_dump("nvmeq", "-C", "-s", "-j")) == dump["nvmeq"]
    assert json.loads(run.kpm_dump("kmemleak", "-l", "-x", "-j")) == dump["kmemleak"]
    assert json.loads(run.kpm_dump("triage", "-j")) == dump["triage"]
