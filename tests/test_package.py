# SPDX-License-Identifier: GPL-2.0
"""The Debian packages, as a user installs them: built from this tree for
bookworm (on the host) and for trixie (in the trixie chroot), installed
with apt into a clean debootstrap root of the same release (tools/
mk-pkgroot), which pulls crash, python3-drgn and libkdumpfile from Debian's
registry; then crash with `extend kpm.so` by name, the installed kpm-drgn
command and the installed kpm-dump decode a fixture, and must print what
the tree's own build prints.

Host-only (tests/host-only): it drives both chroots from the host.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import KPM_DUMP, OUT, TOP, fixture

BUILD = os.path.join(TOP, "build")
EXCLUDE = ["./.git", "./build", "./fixtures/vmcores", "./tests/out"]
MARK = 0x6b706d7001  # p/x of it brackets a command's output


def sh(cmd, **kw):
    p = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True,
                       errors="replace", **kw)
    assert p.returncode == 0, f"{cmd}: rc {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout


def copy_tree(dest):
    """The source tree without fixtures and build products (what a source
    package holds), for dpkg-buildpackage to work in."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    excl = " ".join(f"--exclude={e}" for e in EXCLUDE)
    sh(f"tar -C {TOP} {excl} -cf - . | tar -C {dest} -xf -")


class Root:
    """A clean root with the repository bind-mounted at /kpm."""

    def __init__(self, dist):
        self.dist = dist
        self.dir = os.path.join(BUILD, f"pkgtest-{dist}")
        self.mounts = []

    def __enter__(self):
        sh([os.path.join(TOP, "tools", "mk-pkgroot"), self.dist, self.dir])
        shutil.copy("/etc/resolv.conf", os.path.join(self.dir, "etc", "resolv.conf"))
        for src, dst, opts in ((TOP, "kpm", ["--bind"]), ("proc", "proc", ["-t", "proc"])):
            os.makedirs(os.path.join(self.dir, dst), exist_ok=True)
            sh(["mount", *opts, src, os.path.join(self.dir, dst)])
            self.mounts.append(os.path.join(self.dir, dst))
        return self

    def __exit__(self, *exc):
        for m in reversed(self.mounts):
            subprocess.run(["umount", m])

    def run(self, cmd, check=True):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/root",
               "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
        p = subprocess.run(["chroot", self.dir, "/bin/sh", "-c", cmd], env=env, capture_output=True,
                           text=True, errors="replace", timeout=1200)
        if check:
            assert p.returncode == 0, f"{cmd}: rc {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
        return p

    def install(self, debs):
        os.makedirs(os.path.join(self.dir, "tmp", "debs"), exist_ok=True)
        for d in debs:
            shutil.copy(d, os.path.join(self.dir, "tmp", "debs"))
        self.run("apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "
                 "/tmp/debs/*.deb >/dev/null")


def debs_in(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.endswith(".deb") and "-dbgsym_" not in f)


@pytest.fixture(scope="module")
def bookworm_debs():
    work = os.path.join(BUILD, "deb-bookworm")
    src = os.path.join(work, "kpm")
    copy_tree(src)
    sh(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src)
    debs = debs_in(work)
    assert [os.path.basename(d).split("_")[0] for d in debs] == ["kpm-crash", "kpm-dump", "python3-kpm"]
    return debs


@pytest.fixture(scope="module")
def trixie_debs():
    """Built in the trixie chroot (tools/mk-trixie has debhelper)."""
    sh([os.path.join(TOP, "tools", "mk-trixie")])
    chroot_work = os.path.join(BUILD, "trixie", "tmp", "deb-trixie")
    copy_tree(os.path.join(chroot_work, "kpm"))
    sh([os.path.join(TOP, "tools", "in-trixie"), "sh", "-c",
        "cd /tmp/deb-trixie/kpm && dpkg-buildpackage -b -us -uc >/dev/null"])
    return debs_in(chroot_work)


def installed_layout(root):
    p = root.run("dpkg -L kpm-crash kpm-dump python3-kpm")
    files = set(p.stdout.split())
    for f in ("/usr/lib/crash/extensions/kpm.so", "/usr/bin/kpm-dump", "/usr/bin/kpm-drgn",
              "/usr/lib/python3/dist-packages/kpm/__init__.py",
              "/usr/lib/python3/dist-packages/kpm/libkpm.so",
              "/usr/share/man/man1/kpm-dump.1.gz", "/usr/share/man/man1/kpm-drgn.1.gz",
              "/usr/share/man/man7/kpm.7.gz", "/usr/share/kpm/makedumpfile.conf"):
        assert f in files, f
    # help without a dump, and without /proc/kcore
    assert "commands:" in root.run("kpm-dump --help").stdout
    out = root.run("kpm-drgn help nvmeq").stdout
    assert out.startswith("NAME\n  nvmeq - ")
    assert "nvmeq" in root.run("python3 -c 'import kpm; print(kpm.decoders())'").stdout


def installed_outputs(root, fx):
    """nvmeq in the installed crash extension (by name), kpm-drgn and kpm-dump."""
    rel = lambda p: "/kpm/" + os.path.relpath(p, TOP)  # noqa: E731
    mods = [(n, rel(p)) for n, p in fx.modules]
    cmds = ["extend kpm.so"] + [f"mod -s {n} {p}" for n, p in mods] + \
        [f"p/x {MARK:#x}", "nvmeq", f"p/x {MARK:#x}", "quit"]
    with open(os.path.join(fx.out, "pkg-cmds"), "w") as f:
        f.write("\n".join(cmds) + "\n")
    p = root.run(f"crash -s {rel(fx.vmlinux)} {rel(fx.vmcore)} -i {rel(os.path.join(fx.out, 'pkg-cmds'))}",
                 check=False)
    assert "kpm.so: shared object loaded" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    assert "/usr/lib/crash/extensions/kpm.so" in p.stdout
    parts = re.split(rf"^\$\d+ = {MARK:#x}$", p.stdout, flags=re.M)
    assert len(parts) == 3, p.stdout[-3000:]
    crash = parts[1]
    s = " ".join(f"-s {p}" for _, p in mods)
    drgn = root.run(f"kpm-drgn -q -c {rel(fx.vmcore)} -s {rel(fx.vmlinux)} {s} nvmeq").stdout
    m = " ".join(f"-m {p}" for _, p in mods)
    dump = root.run(f"kpm-dump -c {rel(fx.vmcore)} -s {rel(fx.vmlinux)} {m} nvmeq").stdout
    return crash, drgn, dump


def test_lintian_clean(bookworm_debs):
    """lintian --pedantic has nothing to say (debian/ explains any override)."""
    changes = [f for f in os.listdir(os.path.dirname(bookworm_debs[0])) if f.endswith(".changes")]
    p = subprocess.run(["lintian", "--pedantic", "--display-info", changes[0]],
                       cwd=os.path.dirname(bookworm_debs[0]), capture_output=True, text=True)
    tags = [l for l in p.stdout.splitlines() if re.match(r"[EWIP]: ", l)]
    assert tags == [], "\n".join(tags)


def test_bookworm_package(bookworm_debs):
    fx = fixture("6.1-nvme")
    with Root("bookworm") as root:
        root.install(bookworm_debs)
        installed_layout(root)
        crash, drgn, dump = installed_outputs(root, fx)
    # the tree's own build on the same dump, through the same three front ends
    (tree_crash,) = fx.crash_sections(["nvmeq"])
    rc, tree_drgn, err = fx.drgn([])
    rc, tree_dump, err = fx.kpm_dump(["nvmeq"])
    assert crash.strip() == tree_crash.strip()
    assert drgn == tree_drgn
    assert dump == tree_dump


def test_trixie_package(trixie_debs):
    """trixie's crash 8.0.6 and drgn 0.0.31 open 6.12 dumps; the expected
    side is the tree's kpm-dump, which prints what crash and drgn print on
    every fixture (tests/test_standalone.py and the 6.12 half)."""
    fx = fixture("6.12-nvme")
    with Root("trixie") as root:
        root.install(trixie_debs)
        installed_layout(root)
        ver = root.run("dpkg-query -W -f='${Version}' crash").stdout
        assert ver.startswith("8.0.6")
        crash, drgn, dump = installed_outputs(root, fx)
    rc, tree_dump, err = fx.kpm_dump(["nvmeq"])
    assert rc == 0, err
    assert crash.strip() == drgn.strip() == dump.strip() == tree_dump.strip()


def test_make_install_and_uninstall(tmp_path):
    """make install DESTDIR=... PREFIX=/usr/local lays out every file, and
    make uninstall takes them all away again."""
    dest = str(tmp_path / "root")
    sh(["make", "-C", TOP, "install", f"DESTDIR={dest}", "PREFIX=/usr/local"])
    ver = sh(["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).strip()
    want = ["usr/local/lib/crash/extensions/kpm.so", "usr/local/bin/kpm-dump", "usr/local/bin/kpm-drgn",
            f"usr/local/lib/python{ver}/dist-packages/kpm/__init__.py",
            f"usr/local/lib/python{ver}/dist-packages/kpm/libkpm.so",
            "usr/local/share/kpm/kpm_drgn.py", "usr/local/share/kpm/makedumpfile.conf",
            "usr/local/share/doc/kpm/README.md",
            "usr/local/share/man/man1/kpm-dump.1", "usr/local/share/man/man1/kpm-drgn.1",
            "usr/local/share/man/man7/kpm.7"]
    for f in want:
        assert os.path.lexists(os.path.join(dest, f)), f
    # the package imports from there, libkpm.so beside it
    out = sh(["/usr/bin/python3", "-c",
              f"import sys; sys.path.insert(0, '{dest}/usr/local/lib/python{ver}/dist-packages'); "
              "import kpm; print(kpm.__file__); print(' '.join(sorted(kpm.decoders())))"])
    assert out.splitlines()[0].startswith(dest)
    assert "kfd" in out and "nvmeq" in out
    # the installed kpm-drgn answers help with no dump and no /proc/kcore
    # (staged under DESTDIR, its dist-packages is not yet on python's path)
    p = subprocess.run([os.path.join(dest, "usr/local/bin/kpm-drgn"), "help"], capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=os.path.join(
                           dest, f"usr/local/lib/python{ver}/dist-packages")))
    assert p.returncode == 0 and "commands:" in p.stdout, p.stderr
    sh(["make", "-C", TOP, "uninstall", f"DESTDIR={dest}", "PREFIX=/usr/local"])
    left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
    assert left == []


def test_man_pages_come_from_the_registry(tmp_path):
    """Every command's synopsis and every line of its description, as
    `kpm-dump help CMD` prints them, is in the man pages."""
    out = str(tmp_path / "man")
    sh([os.path.join(TOP, "tools", "mkman"), KPM_DUMP, out])
    page1 = open(os.path.join(out, "kpm-dump.1")).read().replace("\\e", "\\")
    page7 = open(os.path.join(out, "kpm.7")).read().replace("\\e", "\\")
    listing = sh([KPM_DUMP, "help"])
    cmds = re.findall(r"^  (\S+)\s", listing[listing.index("commands:"):], re.M)
    assert {"nvmeq", "kmemleak", "kfd", "kvmfpu", "triage"} <= set(cmds)
    for c in cmds:
        h = sh([KPM_DUMP, "help", c])
        syn = re.search(r"^SYNOPSIS\n  (.*)$", h, re.M).group(1)
        assert f".SS {syn}" in page1, c
        desc = h[h.index("DESCRIPTION\n"):].split("\n")[1:]
        for line in desc:
            if line.strip() and line != "EXAMPLE":
                assert line[2:] in page1 and line[2:] in page7, (c, line)
