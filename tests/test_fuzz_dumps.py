# SPDX-License-Identifier: GPL-2.0
"""Whole-dump fuzzing, a fixed-seed handful (fuzz/dumps; `make fuzz-dumps`
is the long run): mutated copies of one fixture per base, one of each
mutation kind (a page a decoder reads rewritten, pages left out, the file
cut short, header fields corrupted), through kpm-dump, crash with kpm.so
and kpm_drgn.py, and every regression recipe in fuzz/dump-corpus/ of this
run's bases.  Fails on any signal death, hang or traceback of kpm-dump or
kpm_drgn.py, and on any death or hang of crash with kpm.so that crash
without it does not share.  The 6.1 dumps run with the host's tools
(tests/run), the 6.12 ones with trixie's (tests/run-trixie)."""
import glob
import json
import os
import subprocess

import pytest

from conftest import BASES, PYTHON, TOP

DUMPS = os.path.join(TOP, "fuzz", "dumps")
CORPUS = os.path.join(TOP, "fuzz", "dump-corpus")
# one fixture per base: its decoders and crash's start-up are the quick ones
FIXTURE = {"6.1": "6.1-nvme", "6.12": "6.12-nvme"}
KINDS = "page,exclude,truncate,header"


def fuzz(args):
    p = subprocess.run([PYTHON, DUMPS] + args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       errors="replace", timeout=1800)
    return p.returncode, p.stdout, p.stderr


# seed 7's truncation falls in 6.1-nvme's bitmaps: without kpm's check
# (core/dumpfile.c) libkdumpfile dies of SIGBUS there
SEED = "7"


@pytest.mark.parametrize("base", BASES)
def test_fuzz_dumps_short(base):
    """Four dumps of SEED, one per kind, every front end on each."""
    rc, out, err = fuzz(["--count", "4", "--seed", SEED, "--kinds", KINDS, "--no-baseline", FIXTURE[base]])
    assert rc == 0 and "failures: 0" in out, out[-4000:] + err[-4000:]
    lines = [line for line in out.splitlines() if line.startswith(FIXTURE[base] + " ")]
    assert len(lines) == 4, out
    for line in lines:
        assert all(f" {fe} " in line + " " for fe in ("kpm-dump", "drgn", "crash")), line


@pytest.mark.skipif("6.1" not in BASES, reason="the filtered fixture is a 6.1 one")
def test_fuzz_dumps_eraseinfo():
    """Three copies of the filtered fixture's second dump whose erase info
    (which kpm parses itself: core/dumpfile.c) is mutated, every front end."""
    name = "6.1-kmemleak-filtered/vmcore.filtered"
    rc, out, err = fuzz(["--count", "3", "--seed", SEED, "--kinds", "eraseinfo", "--no-baseline", name])
    assert rc == 0 and "failures: 0" in out, out[-4000:] + err[-4000:]
    lines = [line for line in out.splitlines() if line.startswith(name + " ")]
    assert len(lines) == 3, out
    for line in lines:
        assert all(f" {fe} " in line + " " for fe in ("kpm-dump", "drgn", "crash")), line


def recipes():
    found = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.json"))):
        if json.load(open(path))["fixture"].split("-", 1)[0] in BASES:
            found.append(os.path.basename(path))
    return found


@pytest.mark.parametrize("recipe", recipes())
def test_dump_corpus(recipe):
    """A failure fuzz/dumps found, rebuilt from its recorded mutation, on
    the front ends it failed in: none fails now (a recipe marked "open",
    a bug not fixed yet, must still fail: xfail)."""
    path = os.path.join(CORPUS, recipe)
    rc, out, err = fuzz(["--replay", path])
    still_open = json.load(open(path)).get("open")
    if still_open:  # a bug found and not fixed yet: it must still fail
        assert rc != 0, f"{recipe} passes now: drop its \"open\"\n{out}"
        pytest.xfail(still_open)
    assert rc == 0, out + err[-4000:]


def test_mutations_are_recorded_exactly():
    """A recipe's ops rebuild the very dump the RNG made (replays do not
    depend on the generator staying the same)."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("fuzz_dumps", DUMPS)
    spec = importlib.util.spec_from_loader("fuzz_dumps", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    t = mod.Target(FIXTURE[BASES[0]])
    for i in range(8):
        kinds, ops = mod.generate(t, 1, i, KINDS.split(","))
        again = json.loads(json.dumps(ops))
        assert mod.apply(t.data, again) == mod.apply(t.data, ops), (kinds, ops)
