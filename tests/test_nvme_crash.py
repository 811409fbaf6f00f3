# SPDX-License-Identifier: GPL-2.0
"""crash's nvmeq on the 6.1 NVMe double-CQE fixture.

Expected values: the manifest (what the guest's injection module printed)
and crash's own `struct`/`p` on the same dump.
"""
import json
import re

import pytest

from conftest import crash_members, crash_nvme_dev

QUEUE_MEMBERS = ("qid", "q_depth", "sq_tail", "last_sq_tail", "cq_head", "cq_phase",
                 "cq_vector", "flags", "sqes", "sq_dma_addr", "cq_dma_addr", "cqes", "sq_cmds")


@pytest.fixture(scope="module")
def run(nvme):
    text, js, full = nvme.crash_sections(["nvmeq", "nvmeq -j", "nvmeq -c -s -j"])
    return {"text": text, "json": json.loads(js), "full": json.loads(full)}


@pytest.fixture(scope="module")
def injected(nvme):
    return nvme.manifest["injected"]


def the_queue(report, qid):
    (ctrl,) = report["controllers"]
    (q,) = [q for q in ctrl["queues"] if q.get("qid") == qid]
    return q


def test_diagnosis_names_the_injected_cqe(run, injected):
    inj = injected
    head = (f"nvme0 qid {inj['qid']} cq slot {inj['cq_slot']} (cq_head): duplicate completion, "
            f"command_id {inj['command_id']:#x} (genctr {inj['genctr']}, tag {inj['tag']})")
    diag = run["text"].split("NVME_DEV")[0]
    assert head in diag
    assert f"request {inj['rq']:x} for tag {inj['tag']} has genctr {inj['expected_genctr']}" in diag
    assert f"already consumed from slot {inj['duplicate_of_slot']}" in diag
    # Diagnosis first: nothing but the finding precedes the tables.
    assert run["text"].lstrip().startswith("NVME DIAGNOSIS\n  nvme0 qid")


def test_json_diagnosis_is_exactly_the_injection(run, injected):
    (d,) = run["json"]["diagnosis"]
    assert (d["qid"], d["slot"], d["command_id"], d["tag"], d["genctr"]) == (
        injected["qid"], injected["cq_slot"], injected["command_id"], injected["tag"], injected["genctr"])
    assert d["verdict"] == "stale genctr"
    assert int(d["request"], 16) == injected["rq"]
    assert d["request_genctr"] & 0xf == injected["expected_genctr"]
    assert d["duplicate_of_slot"] == injected["duplicate_of_slot"]


def test_queue_count_matches_what_the_driver_printed(run, nvme):
    m = re.search(r"nvme nvme0: (\d+)/(\d+)/(\d+) default/read/poll queues", nvme.console)
    assert m, "the fixture's console has no queue count line"
    io = sum(int(x) for x in m.groups())
    (ctrl,) = run["json"]["controllers"]
    assert ctrl["online_queues"] == io + 1
    assert [q["qid"] for q in ctrl["queues"]] == list(range(io + 1))
    assert ctrl["pci_device"] in nvme.console  # "nvme nvme0: pci function 0000:00:04.0"


def test_injected_queue_is_the_one_the_guest_saw(run, injected):
    q = the_queue(run["json"], injected["qid"])
    assert int(q["cqes"], 16) == injected["cqes"]
    assert q["cq_head"] == injected["cq_slot"]
    assert q["cq_phase"] == injected["cq_phase"]
    assert q["cq_vector"] == injected["cq_vector"]
    assert (q["pending"], q["bad"]) == (1, 1)


def test_every_queue_equals_crash_struct_nvme_queue(run, nvme):
    queues = run["json"]["controllers"][0]["queues"]
    cmds = [f"struct nvme_queue.{','.join(QUEUE_MEMBERS)} {q['address']}" for q in queues]
    for q, out in zip(queues, nvme.crash_sections(cmds)):
        crash = crash_members(out)
        assert set(QUEUE_MEMBERS) <= set(crash), out
        for m in QUEUE_MEMBERS:
            kpm = q[m]
            kpm = int(kpm, 16) if isinstance(kpm, str) else kpm
            assert kpm == crash[m], f"qid {q['qid']} {m}: kpm {kpm} crash {crash[m]}"


def test_nvme_dev_equals_crash(run, nvme):
    ctrl = run["json"]["controllers"][0]
    (out,) = nvme.crash_sections([f"struct nvme_dev.online_queues,queues {ctrl['address']}"])
    crash = crash_members(out)
    assert crash["online_queues"] == ctrl["online_queues"]
    assert crash["queues"] == int(ctrl["queues"][0]["address"], 16)


def test_cq_ring_entries_equal_crash_struct_nvme_completion(run, nvme, injected):
    q = the_queue(run["full"], injected["qid"])
    ring = {e["slot"]: e for e in q["cq_ring"]}
    slots = [injected["duplicate_of_slot"], injected["cq_slot"]]
    (size,) = nvme.crash_sections(["p sizeof(struct nvme_completion)"])
    size = int(re.search(r"= (\d+)", size).group(1))
    outs = nvme.crash_sections(
        [f"struct nvme_completion.command_id,sq_head,sq_id,status {int(q['cqes'], 16) + s * size:#x}"
         for s in slots])
    for slot, out in zip(slots, outs):
        crash = crash_members(out)
        e = ring[slot]
        assert (e["command_id"], e["sq_head"], e["sq_id"], e["status"]) == (
            crash["command_id"], crash["sq_head"], crash["sq_id"], crash["status"])
    assert ring[injected["cq_slot"]]["new"] and not ring[injected["duplicate_of_slot"]]["new"]
    assert ring[injected["cq_slot"]]["command_id"] == injected["command_id"]


def test_sq_entries_equal_crash_struct_nvme_rw_command(run, nvme, injected):
    q = the_queue(run["full"], injected["qid"])
    sq = q["sq_ring"]
    assert len(sq) == min(8, q["q_depth"])
    esz = 1 << q["sqes"]
    outs = nvme.crash_sections(
        [f"struct nvme_rw_command.opcode,command_id,nsid,slba,length {int(q['sq_cmds'], 16) + e['slot'] * esz:#x}"
         for e in sq])
    for e, out in zip(sq, outs):
        crash = crash_members(out)
        for m in ("opcode", "command_id", "nsid", "slba", "length"):
            assert e[m] == crash[m], f"slot {e['slot']} {m}"
    # The command the controller completed twice was submitted from the
    # slot before the CQE's sq_head.
    (sub,) = [e for e in sq if e["slot"] == injected["sq_head"] - 1]
    assert sub["command_id"] == injected["command_id"] and sub["opcode_name"] == "read"


def test_request_state_equals_crash(nvme, injected, run):
    (d,) = run["json"]["diagnosis"]
    rq = injected["rq"]
    size_out, rq_out = nvme.crash_sections(["p sizeof(struct request)",
                                             f"struct request.tag,state {rq:#x}"])
    size = int(re.search(r"= (\d+)", size_out).group(1))
    (nr_out,) = nvme.crash_sections([f"struct nvme_request.genctr {rq + size:#x}"])
    assert crash_members(rq_out)["tag"] == injected["tag"]
    assert "MQ_RQ_IDLE" in rq_out and d["request_state"] == "IDLE"
    assert crash_members(nr_out)["genctr"] == d["request_genctr"]


def test_text_flags_and_ring_views(nvme, injected):
    c_out, s_out, big_c = nvme.crash_sections(["nvmeq -c", "nvmeq -s", "nvmeq -C"])
    row = re.search(rf"^  -> +{injected['cq_slot']} +{injected['command_id']:#x} .*NEW .*stale genctr$",
                    c_out, flags=re.M)
    assert row, c_out
    assert "ENABLED" in c_out
    assert re.search(rf"^ +{injected['sq_head'] - 1} +0x02 read +{injected['command_id']:#x}", s_out, flags=re.M)
    # -C shows every slot of every ring: the q_depths crash reads (32 + 1024 + 1024)
    rows = re.findall(r"^  (?:->|  ) *\d+ +(?:0x[0-9a-f]+|0) +\d+ ", big_c, flags=re.M)
    assert len(rows) == sum(crash_q_depths(nvme))


def crash_q_depths(nvme):
    """q_depth of every online queue, from crash's own struct reads."""
    dev, node, qsize, queues, online = crash_nvme_dev(nvme)
    outs = nvme.crash_sections([f"struct nvme_queue.q_depth {queues + i * qsize:#x}"
                                for i in range(online)])
    return [crash_members(o)["q_depth"] for o in outs]
