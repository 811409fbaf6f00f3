#!/usr/bin/env drgn
# SPDX-License-Identifier: GPL-2.0
"""
Run a kpm command in drgn, with the options, output and errors of crash's
command of the same name (kpm.so) and of kpm-dump:

  drgn -c vmcore -s vmlinux [-s module.ko ...] kpm_drgn.py COMMAND [OPTIONS]
  drgn kpm_drgn.py COMMAND [OPTIONS]               # the running system
  drgn -c vmcore -s vmlinux kpm_drgn.py help [COMMAND]

COMMAND: triage (the first thing to run on a bug report's vmcore), nvmeq,
kmemleak, ... (`help` lists them).  Run through a link named after a
command (nvmeq.py, kmemleak.py, triage.py), the command is implied.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kpm._core import KpmError, UsageError, decoders, help_text, usage_text  # noqa: E402
from kpm import run  # noqa: E402


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
        out = run(prog, *argv)
    except UsageError as e:
        print(f"{name}: {e}", file=sys.stderr)
        sys.stderr.write(usage_text(name, "kpm_drgn.py "))
        return 2
    except KpmError as e:
        sys.stdout.write(getattr(e, "output", ""))
        sys.stdout.flush()
        print(f"{name}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(prog, sys.argv[1:]))  # noqa: F821 (drgn's global)
