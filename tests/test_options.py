# SPDX-License-Identifier: GPL-2.0
"""One table of option cases, run through all three front ends: crash's
command (kpm.so), the drgn script and kpm-dump must accept the same input
and refuse bad input with the same words.

The refusals are spelled out here; what an accepted option selects is
checked against drgn's own walk of kmemleak's object_list (never kpm's
output), and the three front ends must print the same report.
"""
import json
import re

import pytest
from drgn.helpers.linux.list import list_for_each_entry

from conftest import same_as_crash

# (command line, expected error after "COMMAND: ", or None when accepted)
CASES = [
    # the table: crash took "abc" as hex, kpm-dump as 0, drgn refused
    ("kmemleak -s abc", "-s: invalid number 'abc' (decimal, or hexadecimal with 0x)"),
    ("kmemleak -a zz", "-a: invalid address 'zz' (hexadecimal)"),
    ("kmemleak -s 0x40 -j", None),
    ("kmemleak -s 010 -j", None),  # decimal 10, not octal 8
    # and more
    ("kmemleak -s 64 -j", None),
    ("kmemleak -s64 -j", None),
    ("kmemleak -S -s 0X40", None),
    ("kmemleak -s -5", "-s: invalid number '-5' (decimal, or hexadecimal with 0x)"),
    ("kmemleak -s 12k", "-s: invalid number '12k' (decimal, or hexadecimal with 0x)"),
    ("kmemleak -s 0x", "-s: invalid number '0x' (decimal, or hexadecimal with 0x)"),
    ("kmemleak -s 99999999999999999999", "-s: '99999999999999999999' is out of range (64 bits)"),
    ("kmemleak -s", "option -s requires an argument (minsize)"),
    ("kmemleak -a 0xzz", "-a: invalid address '0xzz' (hexadecimal)"),
    ("kmemleak -a -1", "-a: invalid address '-1' (hexadecimal)"),
    ("kmemleak -q", "invalid option -q"),
    ("kmemleak -lq", "invalid option -q"),
    ("kmemleak --long", "invalid option '--long'"),
    ("kmemleak -l extra", "unexpected argument 'extra'"),
    ("kmemleak -lS", None),
    ("kmemleak -c", "option -c requires an argument (comm)"),
    ("kmemleak -c insmod -S", None),
    ("nvmeq -q", "invalid option -q"),
    ("nvmeq -c extra", "unexpected argument 'extra'"),
    ("triage -n x", "-n: invalid number 'x' (decimal, or hexadecimal with 0x)"),
]

# crash calls the triage `kpm`
CRASH_NAME = {"triage": "kpm"}


def crash_line(cmd):
    name, _, rest = cmd.partition(" ")
    return f"{CRASH_NAME.get(name, name)} {rest}".strip()


@pytest.fixture(scope="module")
def runs(kml):
    """Every case in each front end: {cmd: (crash, drgn, kpm-dump)} outputs."""
    crash = kml.crash_sections([crash_line(c) for c, _ in CASES])
    res = {}
    for (cmd, _), cr in zip(CASES, crash):
        argv = cmd.split()
        rc, out, err = kml.drgn(argv, script="kpm_drgn.py")
        drgn = (rc, out, err)
        rc, out, err = kml.kpm_dump(argv)
        res[cmd] = (cr, drgn, (rc, out, err))
    return res


@pytest.fixture(scope="module")
def sizes(kml):
    prog = kml.program()
    return [o.size.value_() for o in list_for_each_entry(
        "struct kmemleak_object", prog["object_list"].address_of_(), "object_list")]


@pytest.mark.parametrize("cmd,error", CASES, ids=[c for c, _ in CASES])
def test_same_refusal_everywhere(runs, cmd, error):
    crash, (drc, dout, derr), (krc, kout, kerr) = runs[cmd]
    name = cmd.split()[0]
    if error is None:
        assert drc == 0, derr
        assert krc == 0, kerr
        assert same_as_crash(dout, crash) and same_as_crash(kout, crash), cmd
        return
    crash_name = CRASH_NAME.get(name, name)
    assert f"{crash_name}: {error}\n" in crash, crash
    assert "Usage:" in crash
    # drgn and kpm-dump: the same line first on stderr, then the usage, exit 2
    assert drc == 2 and derr.splitlines()[0] == f"{name}: {error}", derr
    assert krc == 2 and kerr.splitlines()[0] == f"{name}: {error}", kerr
    assert derr.splitlines()[1].startswith("Usage: ") and kerr.splitlines()[1].startswith("Usage: ")
    assert dout == "" and kout == ""


def selected(out):
    return [o["size"] for o in json.loads(out)["objects"]]


def test_numbers_are_decimal_or_0x_hex(runs, sizes):
    for cmd, at_least in (("kmemleak -s 0x40 -j", 64), ("kmemleak -s 64 -j", 64),
                          ("kmemleak -s64 -j", 64), ("kmemleak -s 010 -j", 10)):
        _, _, (rc, out, err) = runs[cmd]
        got = selected(out)
        assert len(got) == sum(1 for s in sizes if s >= at_least), cmd
        assert min(got) >= at_least
    # 010 is ten: octal would have selected the 8- and 9-byte objects too
    if any(8 <= s < 10 for s in sizes):
        assert len(selected(runs["kmemleak -s 010 -j"][2][1])) < sum(1 for s in sizes if s >= 8)


def test_combined_flags(runs):
    crash, _, (rc, out, err) = runs["kmemleak -lS"]
    assert out.startswith("KMEMLEAK SUMMARY") and "unreferenced object" not in out


def test_addresses_with_and_without_0x(kml):
    leak = kml.manifest["kmemleak_report"][0]["pointer"]
    outs = []
    for arg in (f"{leak:x}", f"{leak:#x}", f"{leak:#X}".replace("0X", "0x")):
        rc, out, err = kml.kpm_dump(["kmemleak", "-j", "-a", arg])
        assert rc == 0, err
        (o,) = json.loads(out)["objects"]
        assert int(o["pointer"], 16) == leak
        outs.append(out)
    assert outs[0] == outs[1] == outs[2]


def test_help_needs_no_dump():
    """kpm-dump help CMD prints the registry's help text, crash's layout."""
    import subprocess
    from conftest import KPM_DUMP
    p = subprocess.run([KPM_DUMP, "help", "kmemleak"], capture_output=True, text=True)
    assert p.returncode == 0
    assert re.search(r"^SYNOPSIS\n  kpm-dump \.\.\. kmemleak \[-p\] \[-l\]", p.stdout, re.M)
    assert "\nEXAMPLE\n" in p.stdout and "crash> kmemleak -l -p -x" in p.stdout
    p = subprocess.run([KPM_DUMP, "help"], capture_output=True, text=True)
    for name in ("triage", "nvmeq", "kmemleak"):
        assert re.search(rf"^  {name} ", p.stdout, re.M)
