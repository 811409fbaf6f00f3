#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Run a kpm command in drgn, with the options, output and errors of crash's
command of the same name (kpm.so) and of kpm-dump:

  drgn -c vmcore -s vmlinux [-s module.ko ...] kpm_drgn.py COMMAND [OPTIONS]
  drgn kpm_drgn.py COMMAND [OPTIONS]               # the running system
  kpm_drgn.py [-c vmcore] [-s FILE]... COMMAND [OPTIONS]   # drgn as a library
  kpm_drgn.py help [COMMAND]                       # no dump, no /proc/kcore

COMMAND: triage (the first thing to run on a bug report's vmcore), nvmeq,
kmemleak, ... (`help` lists them).  Run through a link named after a
command (nvmeq.py, kmemleak.py, triage.py), the command is implied.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from kpm._core import (KpmError, UsageError, check_dumpfile, decoders, help_text,  # noqa: E402
                       usage_text)
from kpm import run_to  # noqa: E402


def main(prog, argv):
    me = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    if me in decoders():
        argv = [me] + argv
    if not argv or argv[0] in ("help", "-h", "--help"):
        if len(argv) > 1 and argv[1] in decoders():
            sys.stdout.write(help_text(argv[1], "kpm_drgn.py "))
            return 0
        print(__doc__.strip() + "\n\ncommands:")
        for name, summary in decoders().items():
            print(f"  {name:10} {summary}")
        return 0 if argv else 2
    name = argv[0]
    if name not in decoders():
        print(f"kpm_drgn.py: no command {name}", file=sys.stderr)
        return 2
    if any(a in ("-h", "--help") for a in argv[1:]):
        sys.stdout.write(help_text(name, "kpm_drgn.py "))
        return 0
    try:
        run_to(sys.stdout, prog, *argv)
    except UsageError as e:
        print(f"{name}: {e}", file=sys.stderr)
        sys.stderr.write(usage_text(name, "kpm_drgn.py "))
        return 2
    except KpmError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1
    return 0


# drgn's own options, as `drgn --help` lists them: (option, takes an argument)
DRGN_OPTIONS = {"-k": False, "--kernel": False, "-c": True, "--core": True, "-p": True,
                "--pid": True, "-s": True, "--symbols": True, "--main-symbols": False,
                "--no-default-symbols": False, "-q": False, "--quiet": False}


def split_drgn_args(argv):
    """([drgn options], [COMMAND and its options]) of a command line."""
    i = 0
    while i < len(argv) and argv[i] in DRGN_OPTIONS:
        i += 2 if DRGN_OPTIONS[argv[i]] else 1
    return argv[:i], argv[i:]


def open_probe(core_file):
    """None when drgn opens @core_file, else why not, in one line: opened
    in a child process first, because a libkdumpfile open that fails kills
    drgn 0.0.22 (SIGSEGV in kdump_free()) and drgn's command line prints
    any other failure as a traceback."""
    import signal
    import subprocess
    probe = ("import sys, drgn\n"
             "try:\n"
             "    drgn.Program().set_core_dump(sys.argv[1])\n"
             "except Exception as e:\n"
             "    sys.exit(str(e) or type(e).__name__)\n")
    p = subprocess.run([sys.executable, "-c", probe, core_file], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, errors="replace")
    if p.returncode < 0:
        return f"its libkdumpfile dies opening it ({signal.Signals(-p.returncode).name})"
    if p.returncode:
        lines = p.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {p.returncode}"
    return None


def load_program(drgn_args, core_file):
    """What drgn's command line does before it runs a script on a dump,
    with drgn's options: open the dump, load the debug info (a missing
    piece is a warning).  Done here because drgn's module loading trusts
    the dump's module list: given module files, drgn 0.0.22's
    load_debug_info() fails with a bare MemoryError when the list cannot
    be read, which drgn's command line prints as a traceback, and never
    returns when the list is cyclic.  So vmlinux is loaded first, the
    module list is walked by kpm (bounded, loop-checked), and only a list
    kpm could walk is handed to drgn; otherwise vmlinux alone, with a
    one-line warning, and the decoders say what they cannot read."""
    import io
    import drgn
    from kpm import run as kpm_run
    me = os.path.basename(sys.argv[0])
    paths, default, quiet = [], {"default": True, "main": True}, False
    i = 0
    while i < len(drgn_args):
        a = drgn_args[i]
        if a in ("-s", "--symbols"):
            paths.append(drgn_args[i + 1])
        elif a == "--main-symbols":
            default = {"main": True}
        elif a == "--no-default-symbols":
            default = {}
        elif a in ("-q", "--quiet"):
            quiet = True
        i += 2 if DRGN_OPTIONS[a] else 1
    modules = [p for p in paths if p.endswith(".ko")]

    def fail(e):
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"{me}: {core_file}: drgn cannot load the debug info: {why}", file=sys.stderr)
        sys.exit(1)

    def load(prog, files, **kw):
        try:
            prog.load_debug_info(files, **kw)
        except drgn.MissingDebugInfoError as e:
            if not quiet:
                print(f"warning: {e}", file=sys.stderr)
        except Exception as e:
            return e
        return None

    prog = drgn.Program()
    prog.set_core_dump(core_file)
    e = load(prog, [p for p in paths if p not in modules], main=default.get("main", False))
    if e:
        fail(e)
    if not modules and not default.get("default"):
        return prog
    why = None
    try:
        kpm_run(prog, "kpmwalk", "-t", "list", "modules")
    except Exception as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
    prog.cache.pop("kpm_core", None)  # its types were looked up without the modules
    if why is None:
        e = load(prog, modules, **default)
        if e is None:
            return prog
        why = f"{str(e).splitlines()[0] if str(e) else type(e).__name__} (drgn)"
        # what drgn loaded before it failed is not trusted: vmlinux again
        prog = drgn.Program()
        prog.set_core_dump(core_file)
        e = load(prog, [p for p in paths if p not in modules], main=default.get("main", False))
        if e:
            fail(e)
    print(f"{me}: {core_file}: warning: the module list cannot be read ({why}): "
          f"drgn loads vmlinux alone", file=sys.stderr)
    return prog


def run_child(fn, core_file):
    """fn() in a child process, its exit status ours.  drgn reads the dump
    through its own libkdumpfile context, which kpm cannot reach, and
    libkdumpfile 0.5.1 to 0.5.4 (bookworm's and trixie's) write a page into
    NULL when a read reuses a ghost entry of their page cache (fixed
    upstream after 0.5.4, e63dab4); fuzz/dumps reached it on damaged 6.12
    arm64 dumps.  A child that dies of a signal is then one line, not a
    dead command (what it had not flushed yet is lost with it)."""
    import signal
    import traceback
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            code = fn()
        except SystemExit as e:
            code = e.code
            if code is not None and not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except KeyboardInterrupt:
            os.kill(pid, signal.SIGINT)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        print(f"{os.path.basename(sys.argv[0])}: {core_file}: drgn died of {sig} reading the dump "
              f"(libkdumpfile 0.5.1 to 0.5.4 do on some damaged dumps: a page cache bug fixed upstream "
              f"after 0.5.4): read it with kpm-dump", file=sys.stderr)
        return 1
    return os.WEXITSTATUS(status)


def wants_help(argv):
    me = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    if me in decoders():
        argv = [me] + argv
    return not argv or argv[0] in ("help", "-h", "--help") or any(
        a in ("-h", "--help") for a in argv[1:])


if __name__ == "__main__":
    if "prog" in globals():  # run by drgn
        sys.exit(main(prog, sys.argv[1:]))  # noqa: F821 (drgn's global)
    # Run as a command: help needs no kernel; anything else runs under drgn,
    # which opens the dump (-c) or the running kernel (/proc/kcore).
    drgn_args, rest = split_drgn_args(sys.argv[1:])
    if wants_help(rest):
        sys.exit(main(None, rest))
    # drgn's libkdumpfile trusts the file (bookworm's 0.5.1 dies of SIGBUS
    # or SIGSEGV on some damaged dumps): check its structure first
    for opt in ("-c", "--core"):
        if opt in drgn_args[:-1]:
            core_file = drgn_args[drgn_args.index(opt) + 1]
            status, why = check_dumpfile(core_file)
            if status < 0:
                print(f"{os.path.basename(sys.argv[0])}: {core_file}: {why}", file=sys.stderr)
                sys.exit(1)
            if status == 2:
                # drgn's libkdumpfile maps the file: reading the page the
                # cut went through is SIGBUS (kpm-dump reads it unmapped)
                print(f"{os.path.basename(sys.argv[0])}: {core_file}: {why}; a page's data crosses the "
                      f"end of the file's last page, where drgn's libkdumpfile (it maps the file) dies "
                      f"of SIGBUS: read it with kpm-dump", file=sys.stderr)
                sys.exit(1)
            if status > 0:
                print(f"{os.path.basename(sys.argv[0])}: {core_file}: warning: {why}", file=sys.stderr)
            why = open_probe(core_file)
            if why:
                print(f"{os.path.basename(sys.argv[0])}: {core_file}: drgn cannot open it: {why}",
                      file=sys.stderr)
                sys.exit(1)
            # a dump: drgn's command line, in a child (load_program, run_child)
            sys.exit(run_child(lambda: main(load_program(drgn_args, core_file), rest), core_file))
    try:
        os.execvp("drgn", ["drgn", *drgn_args, sys.argv[0], *rest])
    except OSError as e:
        print(f"{os.path.basename(sys.argv[0])}: cannot run drgn: {e}", file=sys.stderr)
        sys.exit(2)
