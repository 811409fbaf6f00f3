# SPDX-License-Identifier: GPL-2.0
"""klog: the kernel log from the lockless printk ring buffer, and the kernel
facts the triage header takes from core/printk.c (release, version, taint,
the panicking CPU and task).

Expected values never come from kpm: crash's own `log` on the same dump
(byte for byte), drgn's get_printk_records() (an independent reader of the
same ring), the fixture's console.log and manifest (what the guest printed
before the dump was taken), and crash's p/sym/struct for the panic facts.
Hostile variants of the dump are made with tests/tools/kdumpedit.py; the
records they damage are computed with drgn, their pages found with crash's
vtop.
"""
import json
import os
import re
import struct

import pytest

from conftest import BASES, TOP, crash_members, crash_vtop, fixture

KPM_DUMP = os.path.join(TOP, "standalone", "kpm-dump")


@pytest.fixture(scope="session", params=[f"{b}-{s}" for b in BASES for s in ("nvme", "kmemleak")])
def fx(request):
    """Both scenarios of each base this run decodes."""
    return fixture(request.param)


def kpm_dump(fx, *args, vmcore=None):
    return fx.kpm_dump(list(args), vmcore=vmcore)


def need_kpm_dump():
    if not os.access(KPM_DUMP, os.X_OK):
        pytest.skip("kpm-dump not built here (KPM_DUMP=)")


def drgn_records(f):
    """(seq, ts_nsec, level, facility, caller_id, text) of every record, read
    by drgn's own helper; text as kpm's JSON writes it (bytes >= 0x7f as
    \\u00XX, i.e. latin-1)."""
    from drgn.helpers.linux.printk import get_printk_records
    out = []
    for r in get_printk_records(f.program()):
        caller = r.caller_tid if r.caller_tid is not None else 0x80000000 | r.caller_cpu
        out.append((r.seq, r.timestamp, r.level, r.facility, caller, r.text.decode("latin-1")))
    return out


def json_records(js):
    return [(r["seq"], r["ts_nsec"], r["level"], r["facility"], r["caller_id"], r["text"])
            for r in js["records"]]


def record_starts(text):
    return [l for l in text.splitlines() if l.startswith("[")]


@pytest.fixture(scope="module")
def runs():
    """crash sessions, one per fixture: log, klog and its variants."""
    cache = {}

    def get(f):
        if f.name not in cache:
            cmds = ["log", "klog", "klog -j", "klog -n 5", "klog -n 5 -j", "klog -n 0",
                    "klog -n 100000"]
            cache[f.name] = dict(zip(cmds, f.crash_sections(cmds)))
        return cache[f.name]
    return get


def test_klog_is_crash_log(fx, runs):
    r = runs(fx)
    assert r["log"].count("\n") > 100, r["log"][:2000]
    assert r["klog"] == r["log"]


def test_records_are_drgns(fx, runs):
    js = json.loads(runs(fx)["klog -j"])
    assert js["lost"] == 0 and "error" not in js
    assert json_records(js) == drgn_records(fx)
    seqs = [r["seq"] for r in js["records"]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_last_n(fx, runs):
    r = runs(fx)
    full = json.loads(r["klog -j"])["records"]
    assert json.loads(r["klog -n 5 -j"])["records"] == full[-5:]
    # the last 5 records are the end of crash's log, line for line
    text = r["klog -n 5"].strip("\n")
    assert len(record_starts(text)) == 5
    assert r["log"].rstrip("\n").endswith("\n" + text)
    assert r["klog -n 0"].strip() == ""
    assert r["klog -n 100000"] == r["log"]


def test_what_the_guest_printed_is_in_the_log(fx, runs):
    texts = [r["text"] for r in json.loads(runs(fx)["klog -j"])["records"]]
    panic = [l for l in fx.console.splitlines() if l.startswith("Kernel panic - not syncing")]
    assert panic and panic[0].rstrip() in texts
    for line in fx.manifest.get("kernel_said", []):
        assert line in texts, line
    assert texts[0].startswith(f"Linux version {fx.manifest['kernel_release']} ")


def test_kpm_dump_and_drgn_print_the_same(fx, runs):
    r = runs(fx)
    need_kpm_dump()
    rc, out, err = kpm_dump(fx, "klog")
    assert rc == 0, err
    assert out == r["klog"].lstrip("\n")
    rc, out, err = fx.drgn(["klog", "-n", "5", "-j"], script="kpm_drgn.py")
    assert rc == 0, err
    assert json.loads(out) == json.loads(r["klog -n 5 -j"])


# The triage header's facts (core/printk.c), through `kpm -j` in crash.

def panic_facts_from_crash(f):
    """The panicking CPU and its runqueue's curr, from crash alone: panic_cpu
    (-1 after an oops that went to kdump without panic(): crashing_cpu),
    then runqueues + __per_cpu_offset[cpu] from crash's symbol table."""
    pc, cc, sym = f.crash_sections(["p panic_cpu.counter", "p crashing_cpu", "sym runqueues"])
    cpu = int(re.search(r"= (-?\d+)", pc).group(1))
    if cpu == -1:
        cpu = int(re.search(r"= (-?\d+)", cc).group(1))
    rq = int(re.search(r"^([0-9a-f]+) \(\w\) runqueues", sym, re.M).group(1), 16)
    (off,) = f.crash_sections([f"p/x __per_cpu_offset[{cpu}]"])
    rq += int(re.search(r"= (0x[0-9a-f]+)", off).group(1), 16)
    # rq.curr is in an anonymous union from 6.12: ask for it by expression
    curr, rq_cpu = f.crash_sections([f"p/x ((struct rq *){rq:#x})->curr",
                                     f"p ((struct rq *){rq:#x})->cpu"])
    assert int(re.search(r"= (-?\d+)", rq_cpu).group(1)) == cpu
    curr = int(re.search(r"= (0x[0-9a-f]+)", curr).group(1), 16)
    (task,) = f.crash_sections([f"struct task_struct.pid,comm {curr:#x}"])
    comm = re.search(r'comm = "(.*?)(?:\\000)*"', task).group(1)
    return {"cpu": cpu, "task": curr, "pid": crash_members(task)["pid"], "comm": comm}


def triage_json(out):
    return json.loads([l for l in out.splitlines() if l.startswith('{"schema"')][0])


def test_panic_cpu_and_task(fx):
    want = panic_facts_from_crash(fx)
    (out,) = fx.crash_sections(["kpm -j"])
    p = triage_json(out)["panic"]
    assert (p["cpu"], int(p["task"], 16), p["pid"], p["comm"]) == (
        want["cpu"], want["task"], want["pid"], want["comm"])
    # and what the guest said when it panicked: "CPU: 0 PID: 62 Comm: insmod"
    m = re.search(r"^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)", fx.console, re.M)
    assert (p["cpu"], p["pid"], p["comm"]) == (int(m.group(1)), int(m.group(2)), m.group(3))


def test_panic_facts_in_every_front_end(fx):
    (out,) = fx.crash_sections(["kpm -j"])
    want = triage_json(out)
    got = {}
    if os.access(KPM_DUMP, os.X_OK):
        rc, o, err = kpm_dump(fx, "triage", "-j")
        assert rc == 0, err
        got["kpm-dump"] = triage_json(o)
    rc, o, err = fx.drgn(["triage", "-j"], script="kpm_drgn.py")
    assert rc == 0, err
    got["drgn"] = triage_json(o)
    for name, g in got.items():
        assert (g["kernel"], g["panic"]) == (want["kernel"], want["panic"]), name


def test_release_version_taint(fx):
    (out,) = fx.crash_sections(["kpm -j"])
    k = triage_json(out)["kernel"]
    assert k["release"] == fx.manifest["kernel_release"]
    m = re.search(r"Linux version (\S+) .* (#\d+ .*)$", fx.console, re.M)
    assert (k["release"], k["version"]) == (m.group(1), m.group(2).rstrip())
    mask, text = fx.crash_sections(["p/x tainted_mask", "p taint_flags"])
    assert k["taint"] == int(re.search(r"= (0x[0-9a-f]+)", mask).group(1), 16)
    c_true = re.findall(r"c_true = \d+ '(.)'", text)
    assert len(c_true) >= 19
    assert k["taint_flags"] == "".join(c for i, c in enumerate(c_true) if k["taint"] >> i & 1)
    # the guest's "Tainted: G           O      " / "Not tainted"
    m = re.search(r"Comm: \S+ .*?(Not tainted|Tainted: ([A-Z ]+?)) +\d", fx.console)
    want = "".join(c for c in (m.group(2) or "") if c not in " G")
    assert k["taint_flags"] == want


# Hostile dumps

@pytest.fixture(scope="module")
def ring(nvme):
    """The ring's layout and the last records' descriptors, from drgn; the
    physical pages from crash's vtop."""
    prog = nvme.program()
    prb = prog["prb"]
    dr, tr = prb.desc_ring, prb.text_data_ring
    count, size = 1 << dr.count_bits.value_(), 1 << tr.size_bits.value_()
    head = dr.head_id.counter.value_()
    data = tr.data.value_()
    recs = []
    for i in range(count):
        d, info = dr.descs[i], dr.infos[i]
        sv = d.state_var.counter.value_() & (2 ** 64 - 1)
        if sv >> 62 not in (1, 2):
            continue
        begin = d.text_blk_lpos.begin.value_()
        start = data + (begin & (size - 1))
        recs.append({"seq": info.seq.value_(), "start": start,
                     "end": start + 8 + info.text_len.value_()})
    victim = (head - 5) & (count - 1)
    addrs = {
        "count_bits": dr.count_bits.address_,
        "tail_id": dr.tail_id.address_,
        "victim_state": dr.descs[victim].state_var.address_,
        # the page of the text block of the "Kernel panic" record
        "panic_text": [r for r in recs if prog.read(r["start"] + 8, 12) == b"Kernel panic"][0]["start"],
    }
    outs = nvme.crash_sections([f"vtop {a:#x}" for a in addrs.values()])
    phys = {k: crash_vtop(o) for k, o in zip(addrs, outs)}
    return {"head": head, "count": count, "recs": recs, "addrs": addrs, "phys": phys,
            "victim_seq": dr.infos[victim].seq.value_(), "victim_id": (head - 5)}


def poke(phys, data):
    return ["--poke", f"{phys >> 12:#x}:{phys & 0xfff:#x}:{data.hex()}"]


def clean_lines(runs, f):
    return runs(f)["klog"].lstrip("\n").splitlines()


def check_subsequence(lines, clean):
    it = iter(clean)
    assert all(l in it for l in lines), "klog printed a line the clean dump does not have"


def run_both(f, vm):
    """klog on a variant in kpm-dump (when built) and in crash, which must
    get past it; returns their outputs."""
    outs = []
    if os.access(KPM_DUMP, os.X_OK):
        rc, out, err = kpm_dump(f, "klog", vmcore=vm)
        assert rc in (0, 1), err
        outs.append(out + err)
    rc, out = f.crash(["klog", "p/x 0x600dcafe"], vmcore=vm, load_modules=False)
    assert "0x600dcafe" in out, f"crash did not get past klog:\n{out[-2000:]}"
    outs.append(out)
    return outs


def test_text_page_excluded(nvme, ring, runs):
    page = ring["phys"]["panic_text"] >> 12
    vpage = ring["addrs"]["panic_text"] & ~0xfff
    lost = [r["seq"] for r in ring["recs"] if r["start"] < vpage + 4096 and r["end"] > vpage]
    vm = nvme.variant("klog-text-excluded", ["--exclude", hex(page)])
    clean = clean_lines(runs, nvme)
    for out in run_both(nvme, vm):
        m = re.search(r"klog: printk ring buffer: (\d+) records? lost \((\d+) unreadable\): "
                      r"printk text data: cannot read \d+ bytes at 0x[0-9a-f]+: page not in dump", out)
        assert m, out[-3000:]
        assert int(m.group(1)) == int(m.group(2)) == len(lost)
        lines = [l for l in out.splitlines() if l.startswith("[") or l.startswith("   ")]
        assert len(record_starts(out)) == len(ring["recs"]) - len(lost)
        check_subsequence(lines, clean)
        assert "Kernel panic - not syncing" not in out


def test_descriptor_id_mismatch(nvme, ring, runs):
    # the descriptor of the 5th-newest record claims the id one ring earlier
    sv = (2 << 62) | ((ring["victim_id"] - ring["count"]) & ((1 << 62) - 1))
    vm = nvme.variant("klog-id-mismatch", poke(ring["phys"]["victim_state"], struct.pack("<Q", sv)))
    clean = clean_lines(runs, nvme)
    for out in run_both(nvme, vm):
        assert re.search(rf"1 record lost \(1 id mismatch\): id {ring['victim_id']:#x}: descriptor "
                         rf"\d+ holds id 0x[0-9a-f]+", out), out[-3000:]
        assert len(record_starts(out)) == len(ring["recs"]) - 1
        check_subsequence(record_starts(out), clean)


def test_ring_size_out_of_range(nvme, ring):
    vm = nvme.variant("klog-count-bits", poke(ring["phys"]["count_bits"], struct.pack("<I", 40)))
    for out in run_both(nvme, vm):
        assert re.search(r"klog: printk_ringbuffer 0x[0-9a-f]+: count_bits 40 size_bits \d+ out of range",
                         out), out[-3000:]
        assert not record_starts(out)


def test_tail_past_head(nvme, ring, runs):
    # tail_id one past head_id: a ring "full" 2^62 times over; the walk reads
    # one ring's worth, ending at head_id, and says so
    vm = nvme.variant("klog-tail", poke(ring["phys"]["tail_id"],
                                        struct.pack("<Q", (ring["head"] + 1) & (2 ** 64 - 1))))
    for out in run_both(nvme, vm):
        assert re.search(r"klog: printk ring buffer: tail_id 0x[0-9a-f]+ and head_id 0x[0-9a-f]+ more "
                         rf"than {ring['count']} descriptors apart: the newest {ring['count']} read",
                         out), out[-3000:]
        assert record_starts(out) == record_starts(runs(nvme)["klog"])
