# SPDX-License-Identifier: GPL-2.0
"""kpm triage on every fixture, in crash (`kpm`), drgn (`kpm_drgn.py
triage`) and kpm-dump (`triage`): the same output in all three, and what
it says checked against crash's own `log`/`p`/`struct`, drgn's reads and
the manifests (what the guest printed when the dump was made).
"""
import json
import re

import pytest

from conftest import BASES, fixture, same_as_crash

N = 5  # log records shown


@pytest.fixture(scope="module", params=[f"{b}-{s}" for b in BASES for s in ("nvme", "kmemleak")])
def fx(request):
    return fixture(request.param)


@pytest.fixture(scope="module")
def runs(fx):
    text, js, log, taint, panic_cpu = fx.crash_sections(
        [f"kpm -n {N}", f"kpm -j -n {N}", "log", "p/x tainted_mask", "p panic_cpu"])
    drgn = fx.drgn(["triage", "-n", str(N)], script="kpm_drgn.py")
    drgn_j = fx.drgn(["-j", "-n", str(N)], script="triage.py")
    dump = fx.kpm_dump(["triage", "-n", str(N)])
    dump_j = fx.kpm_dump(["triage", "-j", "-n", str(N)])
    return {"text": text, "json": json.loads(js), "log": log, "taint": taint,
            "panic_cpu": panic_cpu, "drgn": drgn, "drgn_j": drgn_j, "dump": dump,
            "dump_j": dump_j}


def test_identical_in_three_front_ends(runs):
    for rc, out, err in (runs["drgn"], runs["dump"]):
        assert rc == 0, err
        assert same_as_crash(out, runs["text"])
    for rc, out, err in (runs["drgn_j"], runs["dump_j"]):
        assert rc == 0, err
        assert json.loads(out) == runs["json"]


def test_kernel_and_taint(fx, runs):
    k = runs["json"]["kernel"]
    assert k["release"] == fx.manifest["kernel_release"]
    assert re.search(rf"Linux version {re.escape(k['release'])} .*{re.escape(k['version'])}",
                     fx.console)
    mask = int(re.search(r"= (0x[0-9a-f]+|0)", runs["taint"]).group(1), 16)
    assert k["taint"] == mask
    # the guest's own "Tainted:" line names the same flags
    m = re.findall(r"Tainted: ([A-Z ]+)", fx.console)
    if m:
        assert set(k["taint_flags"]) == set(m[-1].replace("G", "").replace(" ", "")) or mask & 1


def test_panic_message_cpu_and_task(fx, runs):
    p = runs["json"]["panic"]
    said = [l for l in fx.console.splitlines() if "Kernel panic - not syncing" in l]
    assert said and p["message"] in said[-1]
    assert p["cpu"] == int(re.search(r"= \{\s*counter = (-?\d+)", runs["panic_cpu"]).group(1))
    prog = fx.program()
    from drgn.helpers.linux.percpu import per_cpu
    curr = per_cpu(prog["runqueues"], p["cpu"]).curr
    assert int(p["task"], 16) == curr.value_()
    assert (p["pid"], p["comm"]) == (curr.pid.value_(), curr.comm.string_().decode())
    # the console's oops header names the same task
    m = re.findall(r"CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)", fx.console)  # 6.12: UID
    assert m and (int(m[-1][0]), int(m[-1][1]), m[-1][2]) == (p["cpu"], p["pid"], p["comm"])


def test_log_records_are_crash_s_log(runs):
    text = runs["text"]
    shown = text[text.index(f"last {N} log records:\n"):].split("\n\n")[0].splitlines()[1:]
    shown = [l[4:] for l in shown]
    crash = [l for l in runs["log"].strip("\n").splitlines()]
    assert shown == crash[-len(shown):]
    assert [r["text"] for r in runs["json"]["log"]][-1].strip() in crash[-1]


def test_names_the_double_cqe(nvme):
    inj = nvme.manifest["injected"]
    (js,) = nvme.crash_sections(["kpm -j"])
    d = {x["name"]: x for x in json.loads(js)["decoders"]}
    nv = d["nvmeq"]
    assert nv["status"] == "ok"
    (f,) = nv["findings"]
    assert f["summary"].startswith(f"nvme0 qid {inj['qid']} cq slot {inj['cq_slot']} (cq_head): "
                                   f"duplicate completion, command_id {inj['command_id']:#x}")
    assert (f["data"]["qid"], f["data"]["slot"], int(f["data"]["request"], 16)) == (
        inj["qid"], inj["cq_slot"], inj["rq"])
    assert d["kmemleak"]["status"] == "nothing_wrong"  # kmemleak on, nothing reported
    s = json.loads(js)["summary"]
    assert (s["findings"], s["ok"], s["failed"]) == (1, 1, 0)


def test_names_the_kmemleak_leaks(kml):
    guest = kml.manifest["kmemleak_report"]
    (js, text) = kml.crash_sections(["kpm -j", "kpm -x"])
    d = {x["name"]: x for x in json.loads(js)["decoders"]}
    km = d["kmemleak"]
    assert km["status"] == "ok"
    leaked = {int(p, 16) for f in km["findings"] for p in f["data"]["pointers"]}
    assert leaked == {g["pointer"] for g in guest}
    assert sum(f["data"]["bytes"] for f in km["findings"]) == sum(g["size"] for g in guest)
    # the nvme driver was never loaded on this boot
    assert d["nvmeq"]["status"] == "not_applicable"
    assert "nvme (PCI) driver is not loaded" in d["nvmeq"]["reason"]
    # raw memory only with -x
    assert "first 32 bytes" not in js and "first 32 bytes" in text


def test_a_failing_decoder_does_not_stop_the_others(nvme):
    """Without nvme's debug info nvmeq fails; the triage still runs kmemleak
    and says which failed and why."""
    rc, out = nvme.crash(["kpm"], load_modules=False)
    assert re.search(r"^nvmeq: failed: this kernel's debug info has no \S+ \(is the module's "
                     r"debug info loaded\?\)$", out, re.M), out
    assert re.search(r"^kmemleak: (nothing wrong found|ok)", out, re.M)
    assert re.search(r"^triage: .*1 failed$", out, re.M)
