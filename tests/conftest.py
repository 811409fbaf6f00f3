# SPDX-License-Identifier: GPL-2.0
"""Shared helpers: fixture files, crash and drgn runners.

Expected values never come from kpm: they come from the fixture's manifest
(what the guest printed when the dump was made), from crash's own
struct/rd/p/vtop on the same dump, from drgn reading the structs, or from
the raw dump file (tests/tools/kdumpedit.py).
"""
import json
import lzma
import os
import re
import shutil
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(TOP, "fixtures", "vmcores")
OUT = os.path.join(TOP, "tests", "out")
KPM_SO = os.environ.get("KPM_SO", os.path.join(TOP, "crash-ext", "kpm.so"))
KPM_DUMP = os.environ.get("KPM_DUMP", os.path.join(TOP, "standalone", "kpm-dump"))
DRGN_HELPERS = os.path.join(TOP, "drgn-helpers")
sys.path.insert(0, DRGN_HELPERS)  # the kpm package, for tests of the helpers
PYTHON = "/usr/bin/python3"  # Debian's, the one drgn is importable from
# arm64 dumps: crash for arm64 (Debian's crash:arm64 in a root of arm64
# packages, tools/mk-arm64-root) runs under qemu-user with a kpm.so built
# for it; drgn and kpm-dump read arm64 dumps natively.
KPM_SO_ARM64 = os.environ.get("KPM_SO_ARM64", os.path.join(TOP, "crash-ext", "arm64", "kpm.so"))
ARM64_ROOT = os.environ.get("KPM_ARM64_ROOT", os.path.join(TOP, "build", "arm64-root-bookworm"))
QEMU_AARCH64 = os.environ.get("KPM_QEMU_AARCH64", "qemu-aarch64-static")


SCENARIOS = os.path.join(FIXTURES, "scenarios")


def scenarios():
    """{name: descriptor} of fixtures/vmcores/scenarios/NAME.json: the
    modules each scenario loads (load order, dependencies first), its bases,
    a description, and what write-manifest keeps of its console."""
    return {f[:-len(".json")]: json.load(open(os.path.join(SCENARIOS, f)))
            for f in sorted(os.listdir(SCENARIOS)) if f.endswith(".json")}


def unxz(src, dst):
    if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(src):
        with lzma.open(src) as f, open(dst + ".tmp", "wb") as g:
            while chunk := f.read(1 << 22):
                g.write(chunk)
        os.rename(dst + ".tmp", dst)
    return dst


class Fixture:
    def __init__(self, name, root=FIXTURES, out=OUT, scenarios_dir=SCENARIOS):
        """A dump made by make-fixture: ROOT/NAME and ROOT/kernel-BASE,
        decompressed into OUT; its scenario's descriptor in SCENARIOS_DIR.
        Other roots: make bench-dump's (build/bench, tests/bench)."""
        self.name = name
        self.src = os.path.join(root, name)
        self.out = os.path.join(out, name)
        self.manifest = json.load(open(os.path.join(self.src, "manifest.json")))
        self.kdir = os.path.join(root, self.manifest["kernel"])
        self.kernel = json.load(open(os.path.join(self.kdir, "kernel.json")))
        assert self.kernel["vmlinux_sha256"] == self.manifest["vmlinux_sha256"], \
            f"{name} was made with another kernel than {self.manifest['kernel']} holds"
        self.arch = self.kernel.get("arch", "x86_64")
        self.vmcore = os.path.join(self.src, "vmcore")
        self.console = open(os.path.join(self.src, "console.log"), errors="replace").read()
        kout = os.path.join(out, self.manifest["kernel"])
        os.makedirs(self.out, exist_ok=True)
        os.makedirs(kout, exist_ok=True)
        self.vmlinux = unxz(os.path.join(self.kdir, "vmlinux.xz"), os.path.join(kout, "vmlinux"))
        # crash for arm64 runs under qemu-user: its gdb reads a .gdb_index
        # copy (tools/gdb-index; made on the host, also for the chroot)
        self.crash_vmlinux = self.vmlinux
        if self.arch == "arm64":
            self.crash_vmlinux = self.vmlinux + "-gdbidx"
            if shutil.which("gdb-multiarch"):
                subprocess.run([os.path.join(TOP, "tools", "gdb-index"), self.vmlinux, self.crash_vmlinux],
                               check=True)
        # (module name, file) in load order
        self.modules = [(m.replace("-", "_"),
                         unxz(os.path.join(self.kdir, m + ".ko.xz"), os.path.join(kout, m + ".ko")))
                        for m in json.load(open(os.path.join(
                            scenarios_dir, self.manifest["scenario"] + ".json")))["modules"]]

    def crash(self, commands, vmcore=None, load_modules=True, timeout=600):
        """Run crash with kpm.so loaded; return (returncode, output).  An
        arm64 dump is opened by crash for arm64 under qemu-user."""
        crash = ["crash"]
        so = KPM_SO
        if self.arch == "arm64":
            crash = [QEMU_AARCH64, "-L", ARM64_ROOT, os.path.join(ARM64_ROOT, "usr", "bin", "crash")]
            so = KPM_SO_ARM64
        lines = [f"extend {so}"]
        if load_modules:
            lines += [f"mod -s {name} {path}" for name, path in self.modules]
        lines += list(commands)
        cmdfile = os.path.join(self.out, f"cmds.{os.getpid()}")
        with open(cmdfile, "w") as f:
            f.write("\n".join(lines) + "\nquit\n")
        p = subprocess.run(crash + ["-s", self.crash_vmlinux, vmcore or self.vmcore, "-i", cmdfile],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=timeout)
        return p.returncode, p.stdout + p.stderr

    def crash_sections(self, commands, **kw):
        """Run commands in one crash session; return each command's output."""
        marked = []
        for i, c in enumerate(commands):
            marked += [f"p/x {0x6b706d0000 + i:#x}", c]
        marked.append(f"p/x {0x6b706d0000 + len(commands):#x}")
        rc, out = self.crash(marked, **kw)
        parts = re.split(r"^\$\d+ = 0x6b706d[0-9a-f]{4}$", out, flags=re.M)
        assert len(parts) == len(commands) + 2, f"crash (rc {rc}) output not as expected:\n{out[-3000:]}"
        return parts[1:-1]

    def drgn(self, args, vmcore=None, timeout=300, script="nvmeq.py"):
        cmd = ["drgn", "-c", vmcore or self.vmcore, "-s", self.vmlinux]
        for _, path in self.modules:
            cmd += ["-s", path]
        p = subprocess.run(cmd + [os.path.join(DRGN_HELPERS, script)] + list(args),
                           stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, errors="replace", timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def kpm_dump(self, args, vmcore=None, timeout=300):
        """Run standalone/kpm-dump (KPM_DUMP) on the dump; (rc, stdout, stderr)."""
        cmd = [KPM_DUMP, "-c", vmcore or self.vmcore, "-s", self.vmlinux]
        for _, path in self.modules:
            cmd += ["-m", path]
        p = subprocess.run(cmd + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def three_front_ends(self, command, args=(), vmcore=None, clean=False):
        """Run COMMAND ARGS in crash, in drgn (drgn-helpers/COMMAND.py) and
        in kpm-dump on the dump; assert that they print the same, that
        drgn raised nothing and that kpm-dump was not killed (with clean:
        drgn and kpm-dump exited 0).  Returns what they printed."""
        (c,) = self.crash_sections([" ".join([command, *args])], vmcore=vmcore)
        drc, d, err = self.drgn(list(args), vmcore=vmcore, script=f"{command}.py")
        assert "Traceback" not in err and (drc == 0 or not clean), err
        krc, k, kerr = self.kpm_dump([command, *args], vmcore=vmcore)
        assert krc >= 0 and (krc == 0 or not clean), kerr
        assert c.strip() == d.strip() == k.strip(), (args, c[-3000:], d[-3000:], k[-3000:])
        return k

    def variant(self, name, args):
        """A hostile copy of the dump made by tests/tools/kdumpedit.py
        (excluded pages, poked bytes, truncation); returns its path."""
        path = os.path.join(self.out, f"vmcore.{name}")
        subprocess.run([PYTHON, os.path.join(TOP, "tests", "tools", "kdumpedit.py"),
                        self.vmcore, path] + list(args), check=True)
        return path

    def program(self, vmcore=None):
        import drgn
        prog = drgn.Program()
        prog.set_core_dump(vmcore or self.vmcore)
        prog.load_debug_info([self.vmlinux] + [p for _, p in self.modules])
        return prog


def same_as_crash(text, crash_text):
    """Whether a report equals crash's, but for one crash convention: its
    symbol table drops gcc's ".part.N" and ".isra.N" suffixes (seen:
    vfs_kern_mount.part.0 -> vfs_kern_mount, mm_init.constprop.0.isra.0 ->
    mm_init.constprop.0; ".constprop.N" is kept), where kallsyms, the
    kernel's own %pS, drgn and libdw keep them."""
    def norm(t):
        return re.sub(r"\.(?:part|isra)\.\d+", "", t.strip())
    return norm(text) == norm(crash_text)


def crash_members(text):
    """Top-level `name = value` pairs of crash's `struct TYPE.m1,m2 ADDR` output."""
    vals = {}
    for m in re.finditer(r"^  (\w+) = (-?\w+)", text, flags=re.M):
        try:
            vals[m.group(1)] = int(m.group(2), 0)
        except ValueError:
            vals[m.group(1)] = m.group(2)  # an enumerator's name
    return vals


def crash_nvme_dev(nvme):
    """The first controller of nvme_driver as crash reads it: (nvme_dev
    address, its klist node, sizeof(struct nvme_queue), nvme_dev.queues,
    online_queues).  nvme_driver's address comes from crash's symbol table
    (kallsyms): on 6.12, crash 8.0.6's gdb places nvme.ko's data 0x80 bytes
    off, so an expression naming the module's nvme_driver reads wrong."""
    (sym_out,) = nvme.crash_sections(["sym nvme_driver"])
    drv = int(re.search(r"^([0-9a-f]{16}) \(\w\) nvme_driver", sym_out, re.M).group(1), 16)
    node_out, qsize_out = nvme.crash_sections([
        f"p ((struct driver_private *)((struct pci_driver *){drv:#x})->driver.p)->klist_devices.k_list.next",
        "p sizeof(struct nvme_queue)"])
    node = int(re.search(r"= \(struct list_head \*\) (0x[0-9a-f]+)", node_out).group(1), 16)
    qsize = int(re.search(r"= (\d+)", qsize_out).group(1))
    (dev_out,) = nvme.crash_sections([
        f"p ((struct device_private *)({node:#x} - (unsigned long)"
        f"&((struct device_private *)0)->knode_driver.n_node))->device->driver_data"])
    dev = int(re.search(r"= \(void \*\) (0x[0-9a-f]+)", dev_out).group(1), 16)
    (qs_out,) = nvme.crash_sections([f"struct nvme_dev.queues,online_queues {dev:#x}"])
    d = crash_members(qs_out)
    return dev, node, qsize, d["queues"], d["online_queues"]


def crash_vtop(text):
    m = re.search(r"^([0-9a-f]{16})\s+([0-9a-f]+)\s*$", text, flags=re.M)
    assert m, f"no vtop translation in:\n{text}"
    return int(m.group(2), 16)


# Which bases' fixtures this run decodes: tests/run runs 6.1 with the host's
# (bookworm) crash and drgn, tests/run-trixie 6.12 with trixie's.
BASES = os.environ.get("KPM_BASES") or "6.1"
BASES = BASES.split()
_fixtures = {}


def fixture(name):
    if name not in _fixtures:
        _fixtures[name] = Fixture(name)
    return _fixtures[name]


@pytest.fixture(scope="session", params=BASES)
def nvme(request):
    return fixture(f"{request.param}-nvme")


@pytest.fixture(scope="session", params=BASES)
def kml(request):
    return fixture(f"{request.param}-kmemleak")
