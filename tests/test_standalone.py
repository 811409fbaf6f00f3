# SPDX-License-Identifier: GPL-2.0
"""standalone/kpm-dump: the decoders on libkdumpfile and libdw, without
crash or drgn.  Its output must be crash's, byte for byte, where this
machine's crash opens the dump; on every base it must name what the
manifests record (the injected CQE, the guest's kmemleak report).
"""
import json
import os
import re

import pytest

from conftest import TOP, fixture, same_as_crash

KPM_DUMP = os.path.join(TOP, "standalone", "kpm-dump")


def kpm_dump(fx, *args, vmcore=None):
    return fx.kpm_dump(list(args), vmcore=vmcore)


def test_nvmeq_is_crash_s(nvme):
    for flags in (["-c", "-s"], ["-j"], ["-C", "-j"]):
        rc, out, err = kpm_dump(nvme, "nvmeq", *flags)
        assert rc == 0, err
        (crash_out,) = nvme.crash_sections(["nvmeq " + " ".join(flags)])
        assert same_as_crash(out, crash_out), f"nvmeq {flags}"


def test_kmemleak_is_crash_s(kml):
    for flags in (["-l", "-x"], ["-S"], ["-p", "-j"]):
        rc, out, err = kpm_dump(kml, "kmemleak", *flags)
        assert rc == 0, err
        (crash_out,) = kml.crash_sections(["kmemleak " + " ".join(flags)])
        assert same_as_crash(out, crash_out), f"kmemleak {flags}"


@pytest.mark.parametrize("base", ["6.1", "6.12"])
def test_every_base_against_its_manifests(base):
    nv = fixture(f"{base}-nvme")
    inj = nv.manifest["injected"]
    rc, out, err = kpm_dump(nv, "nvmeq", "-j")
    assert rc == 0, err
    (d,) = json.loads(out)["diagnosis"]
    assert (d["qid"], d["slot"], d["command_id"], d["tag"], d["genctr"]) == (
        inj["qid"], inj["cq_slot"], inj["command_id"], inj["tag"], inj["genctr"])
    assert int(d["request"], 16) == inj["rq"]

    km = fixture(f"{base}-kmemleak")
    guest = {o["pointer"]: o for o in km.manifest["kmemleak_report"]}
    rc, out, err = kpm_dump(km, "kmemleak", "-l", "-j")
    assert rc == 0, err
    leaks = {int(o["pointer"], 16): o for o in json.loads(out)["objects"]}
    assert set(leaks) == set(guest)
    for p, g in guest.items():
        assert (leaks[p]["size"], leaks[p]["comm"]) == (g["size"], g["comm"])
        if "checksum" in g:
            assert leaks[p]["checksum"] == g["checksum"] == leaks[p]["checksum_recomputed"]
        # kpm-dump names frames as the kernel's kallsyms does, so they are
        # the guest's own, aliases and .part.N suffixes included
        frames = [(f["symbol"] or None, f["offset"] if f["symbol"] else int(f["address"], 16))
                  for f in leaks[p]["backtrace"]]
        want = [(f["symbol"], f["offset"] if f["symbol"] else f["address"]) for f in g["backtrace"]]
        assert frames == want, hex(p)


def test_truncated_dumps(nvme):
    size = os.path.getsize(nvme.vmcore)
    for pct in (60, 90):
        vm = nvme.variant(f"truncated{pct}", ["--truncate", str(size * pct // 100)])
        rc, out, err = kpm_dump(nvme, "nvmeq", vmcore=vm)
        assert rc in (0, 1), err  # not killed by a signal
        if rc == 0:
            assert "NVME DIAGNOSIS" in out
        else:
            assert re.fullmatch(r"(kpm-dump|nvmeq): [^\n]+\n", err.splitlines(True)[-1]), err


def test_batch_i(nvme, tmp_path):
    """-i FILE: every line a command on one opening of the dump, each
    echoed, output as crash prints the same commands, the worst exit
    status of them all, and a bad line does not stop the rest."""
    cmds = ["nvmeq -c -s", "# a comment", "", "bogus", "nvmeq -Z", "nvmeq -j"]
    f = tmp_path / "cmds"
    f.write_text("\n".join(cmds) + "\n")
    rc, out, err = kpm_dump(nvme, "-i", str(f))
    assert rc == 2, err
    assert "kpm-dump: no command bogus" in err and "nvmeq: invalid option -Z" in err
    sections = re.split(r"^kpm-dump> (.*)\n", out, flags=re.M)
    assert sections[0] == ""
    got = dict(zip(sections[1::2], sections[2::2]))
    assert list(got) == ["nvmeq -c -s", "bogus", "nvmeq -Z", "nvmeq -j"]
    assert got["bogus"] == got["nvmeq -Z"] == ""
    want = nvme.crash_sections(["nvmeq -c -s", "nvmeq -j"])
    assert same_as_crash(got["nvmeq -c -s"], want[0]) and same_as_crash(got["nvmeq -j"], want[1])

    f.write_text("nvmeq -j\n")
    rc, out, err = kpm_dump(nvme, "-i", str(f))
    assert rc == 0 and not err, err
    rc, _, err = kpm_dump(nvme, "-i", str(f), "nvmeq")
    assert rc == 2 and err.startswith("usage: kpm-dump"), err
    rc, _, err = kpm_dump(nvme, "-i", str(tmp_path / "none"))
    assert rc == 1 and err == f"kpm-dump: {tmp_path / 'none'}: No such file or directory\n", err
