# SPDX-License-Identifier: GPL-2.0
"""drgn helpers and the nvmeq.py script on the 6.1 NVMe fixture.

drgn's own reads of the structs (Object members) and the manifest are the
expected values; crash's report is compared with the drgn script's.
"""
import json
import os
import sys

import pytest
from drgn import Object, sizeof

from conftest import same_as_crash, TOP

sys.path.insert(0, os.path.join(TOP, "drgn-helpers"))


@pytest.fixture(scope="module")
def prog(nvme):
    return nvme.program()


def test_script_agrees_with_crash(nvme):
    for flags in ([], ["-c", "-s"], ["-j"], ["-C", "-s", "-j"]):
        rc, out, err = nvme.drgn(flags)
        assert rc == 0, err
        (crash_out,) = nvme.crash_sections(["nvmeq " + " ".join(flags)])
        assert same_as_crash(out, crash_out), f"nvmeq {flags} differs between drgn and crash"


def test_script_names_the_injection(nvme):
    inj = nvme.manifest["injected"]
    rc, out, err = nvme.drgn(["-j"])
    (d,) = json.loads(out)["diagnosis"]
    assert (d["qid"], d["slot"], d["command_id"], d["tag"], d["genctr"]) == (
        inj["qid"], inj["cq_slot"], inj["command_id"], inj["tag"], inj["genctr"])


def test_helpers_yield_objects_drgn_can_read(prog, nvme):
    from kpm.nvme import for_each_nvme_dev, for_each_nvme_queue

    inj = nvme.manifest["injected"]
    (dev,) = list(for_each_nvme_dev(prog))
    assert dev.type_.type_name() == "struct nvme_dev *"
    assert dev.ctrl.instance.value_() == 0
    queues = list(for_each_nvme_queue(dev))
    assert len(queues) == dev.online_queues.value_()
    for i, q in enumerate(queues):
        assert q.type_.type_name() == "struct nvme_queue *"
        assert q.qid.value_() == i
        assert q.value_() == dev.queues[i].address_
    q = queues[inj["qid"]]
    assert q.cqes.value_() == inj["cqes"]
    assert q.cq_head.value_() == inj["cq_slot"]
    assert q.cq_phase.value_() == inj["cq_phase"]
    cqe = q.cqes[inj["cq_slot"]]
    assert cqe.command_id.value_() == inj["command_id"]
    assert cqe.status.value_() & 1 == inj["cq_phase"]


def test_queue_state_equals_drgn_members(prog):
    from kpm.nvme import for_each_nvme_dev, nvme_queue_state

    (dev,) = list(for_each_nvme_dev(prog))
    state = nvme_queue_state(prog)
    (ctrl,) = state["controllers"]
    for js in ctrl["queues"]:
        q = dev.queues[js["qid"]]
        for m in ("q_depth", "sq_tail", "last_sq_tail", "cq_head", "cq_phase", "cq_vector",
                  "flags", "sqes", "sq_dma_addr", "cq_dma_addr"):
            assert js[m] == q.member_(m).value_(), f"qid {js['qid']} {m}"


def test_bad_completions_helper(prog, nvme):
    from kpm.nvme import nvme_bad_completions

    inj = nvme.manifest["injected"]
    (d,) = nvme_bad_completions(prog)
    assert int(d["request"], 16) == inj["rq"]
    rq = Object(prog, "struct request", address=inj["rq"])
    nreq = Object(prog, "struct nvme_request", address=inj["rq"] + sizeof(rq))
    assert rq.tag.value_() == inj["tag"]
    assert rq.state.value_() == prog.constant("MQ_RQ_IDLE").value_()
    assert d["request_genctr"] == nreq.genctr.value_()
    assert d["request_genctr"] & 0xf == inj["expected_genctr"]
    assert d["duplicate_of_slot"] == inj["duplicate_of_slot"]
