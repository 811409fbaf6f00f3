# SPDX-License-Identifier: GPL-2.0
"""A short, fixed-seed libFuzzer run of every registry decoder on snapshots
of the fixtures (fuzz/run: 10,000 executions each; kmemleak on a copy of
its fixture cut to 134 objects, and 100 on the whole fixture, whose every
execution decodes ~19,000 objects), from the committed corpus
(fuzz/corpus/, which holds the inputs of every bug found).  Any crash,
sanitizer report, leak or hang fails.  `make fuzz` is the long run.
"""
import os
import subprocess

import pytest

from conftest import TOP

import sys
sys.path.insert(0, os.path.join(TOP, "fuzz"))


def fuzz_run():
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("fuzz_run", os.path.join(TOP, "fuzz", "run"))
    spec = importlib.util.spec_from_loader("fuzz_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def targets():
    return list(fuzz_run().TARGETS)


@pytest.mark.parametrize("target", targets())
def test_fuzz_short(target):
    p = subprocess.run([os.path.join(TOP, "fuzz", "run"), "--runs", "10000", "--seed", "1", target],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout + p.stderr[-4000:]
    assert p.stdout.split()[-1] == "ok", p.stdout


def test_every_decoder_is_fuzzed():
    """A decoder added to the registry must get a fuzz target."""
    sys.path.insert(0, os.path.join(TOP, "drgn-helpers"))
    from kpm._core import decoders
    fuzzed = {args.split()[0] for _, args in fuzz_run().TARGETS.values()}
    assert sorted(decoders()) == sorted(fuzzed)
