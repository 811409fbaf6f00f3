# kpm: kernel post-mortem toolkit
#
#   make            crash-ext/kpm.so, drgn-helpers/kpm/libkpm.so, standalone/kpm-dump,
#                   and crash-ext/arm64/kpm.so (crash for arm64 dumps) when
#                   aarch64-linux-gnu-gcc is installed
#   make arm64      crash-ext/arm64/kpm.so (needs gcc-aarch64-linux-gnu)
#   make test       build, then run the test suite on the committed fixtures,
#                   6.1 with the host's tools, 6.12 in the trixie chroot
#   make trixie     the trixie toolchain chroot (crash 8.0.6, drgn 0.0.31)
#   make live-image the live-system test's guest (build/live-6.1/; tests/test_live.py
#                   makes it when needed)
#   make demo       decode the bundled fixtures in crash
#   make bench      kmemleak decoding rates and peak memory: kpm-dump, kpm in
#                   crash and drgn vs crash's list and a drgn loop (docs/bench.md)
#   make bench-dump the million-object kmemleak dump make bench also measures
#                   (QEMU; into build/bench/, never committed)
#   make fuzz       every decoder under libFuzzer, FUZZ_RUNS (1,000,000) each
#   make fuzz-dumps FUZZ_DUMPS (1,000) mutated copies of every fixture through
#                   kpm-dump, crash with kpm.so and kpm_drgn.py
#   make fixtures   regenerate the fixtures (kernel build + QEMU; never in CI)
#   make man        man pages from the decoder registry (build/man/)
#   make install    [DESTDIR=...] [PREFIX=/usr/local]; make uninstall
#   make deb        the Debian packages, from debian/ (in ..)

CC ?= gcc
CRASH_DEFS ?= /usr/include/crash/defs.h
ARCH_DEF ?= -DX86_64
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wno-unused-parameter
# Every decoder is one core/<name>.c that registers itself (core/kpm.h):
# nothing here names them.
CORE_SRC := $(sort $(wildcard core/*.c))
CORE_HDR := $(sort $(wildcard core/*.h))
# Where the two artifacts go; the trixie toolchain builds its own copies
# (tests/run-trixie) so that the host's stay usable.
KPM_SO ?= crash-ext/kpm.so
KPM_LIB ?= drgn-helpers/kpm/libkpm.so
# the standalone reader (libkdumpfile + libdw); KPM_DUMP= skips it
KPM_DUMP ?= standalone/kpm-dump

# crash analyses one architecture's dumps: arm64 dumps need crash for arm64
# (Debian's crash:arm64, run under qemu-user here) and a kpm.so built for
# it.  libkpm.so and kpm-dump read dumps of either architecture natively.
CROSS_ARM64 ?= aarch64-linux-gnu-
KPM_SO_ARM64 ?= crash-ext/arm64/kpm.so
CRASH_DEFS_ARM64 ?= $(CRASH_DEFS)

all: $(KPM_SO) $(KPM_LIB) $(KPM_DUMP)
ifneq ($(shell command -v $(CROSS_ARM64)gcc 2>/dev/null),)
all: $(KPM_SO_ARM64)
endif

arm64: $(KPM_SO_ARM64)

$(KPM_SO_ARM64): crash-ext/kpm.c $(CORE_SRC) $(CORE_HDR) $(CRASH_DEFS_ARM64)
	@mkdir -p $(dir $@)
	$(CROSS_ARM64)gcc $(CFLAGS) $(WARN) -Werror -Wno-sign-compare -Wno-missing-field-initializers \
		-fPIC -shared -nostartfiles -DARM64 -I$(dir $(CRASH_DEFS_ARM64)) -Icore \
		-o $@ crash-ext/kpm.c $(CORE_SRC)

$(KPM_SO): crash-ext/kpm.c $(CORE_SRC) $(CORE_HDR) $(CRASH_DEFS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Werror -Wno-sign-compare -Wno-missing-field-initializers \
		-fPIC -shared -nostartfiles $(ARCH_DEF) -I$(dir $(CRASH_DEFS)) -Icore \
		$(CPPFLAGS) $(LDFLAGS) -o $@ crash-ext/kpm.c $(CORE_SRC)

$(KPM_LIB): drgn-helpers/libkpm.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Werror -fPIC -shared -Icore $(CPPFLAGS) $(LDFLAGS) \
		-o $@ drgn-helpers/libkpm.c $(CORE_SRC)

# Both bases: 6.1 dumps with bookworm's crash 8.0.2 and drgn 0.0.22 (host),
# 6.12 dumps with trixie's crash 8.0.6 and drgn 0.0.31 (chroot).
$(KPM_DUMP): standalone/kpm-dump.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Werror -Icore $(CPPFLAGS) $(LDFLAGS) -o $@ standalone/kpm-dump.c \
		$(CORE_SRC) -lkdumpfile -ldw -lelf

test: all
	tests/run
	tests/run-trixie

test-6.1: all
	tests/run

test-6.12:
	tests/run-trixie

trixie:
	tools/mk-trixie

live-image: $(KPM_LIB)
	tests/live/mkimage

demo: all
	tests/demo

# The benchmark's big dump: a 6.1 guest whose kmemleak tracks a million
# objects, made by the fixture pipeline from fixtures/vmcores/bench/ (a
# scenario `make fixtures` does not see) and modules/kmemleak-1m/, into
# BENCH_DIR with the kernel's debug info.  KPM_BUILD=DIR builds the kernel
# there (or finds it); with KPM_REUSE_KERNEL=1 a kernel already built there
# is used as it is.
BENCH_DIR ?= build/bench
BENCH_DUMP := $(abspath $(BENCH_DIR))/6.1-kmemleak-1m/manifest.json

bench: all
	KPM_BENCH_DIR=$(abspath $(BENCH_DIR)) tests/bench

bench-dump: $(BENCH_DUMP)

$(BENCH_DUMP): $(wildcard fixtures/vmcores/bench/kmemleak-1m.* fixtures/vmcores/modules/kmemleak-1m/*)
	KPM_SCENARIOS=$(CURDIR)/fixtures/vmcores/bench KPM_FIXTURE_DEST=$(abspath $(BENCH_DIR)) \
		fixtures/vmcores/make-fixture 6.1 kmemleak-1m

# in-process fuzzing of every registry decoder (libFuzzer, ASan + UBSan) on
# snapshots of the fixtures: fuzz/run, docs/fuzzing.md
FUZZ_RUNS ?= 1000000
fuzz: $(KPM_DUMP)
	fuzz/run --runs $(FUZZ_RUNS)

# whole dumps: FUZZ_DUMPS mutated copies of every fixture (pages, excluded
# pages, truncation, header fields) through kpm-dump, crash with kpm.so and
# kpm_drgn.py (fuzz/dumps, docs/fuzzing.md); 6.1 with the host's tools,
# 6.12 in the trixie chroot.  FUZZ_DUMPS_ARGS: the seed and how often crash
# runs (a crash session is 5-60 s, kpm-dump and kpm_drgn.py under 1 s);
# a run stopped part way goes on where it stopped (--resume).
FUZZ_DUMPS ?= 1000
FUZZ_DUMPS_ARGS ?= --seed 1000 --crash-every 10
fuzz-dumps: all
	fuzz/dumps --resume --count $(FUZZ_DUMPS) $(FUZZ_DUMPS_ARGS) 6.1
	fuzz/dumps --resume --count $(FUZZ_DUMPS) $(FUZZ_DUMPS_ARGS) 6.12
.PHONY: fuzz-dumps

# every fixtures/vmcores/scenarios/SCENARIO.json on each of its "bases",
# base by base
fixtures:
	set -e; runs=$$(/usr/bin/python3 -c 'import glob, json, os; \
		r = [(b, os.path.basename(f)[:-len(".json")]) \
		     for f in sorted(glob.glob("fixtures/vmcores/scenarios/*.json")) \
		     for b in json.load(open(f))["bases"]]; \
		r.sort(key=lambda x: [int(n) for n in x[0].split(".")]); \
		print(*(f"{b}:{s}" for b, s in r))'); \
	for run in $$runs; do fixtures/vmcores/make-fixture $${run%%:*} $${run#*:}; done

# Installation.  PREFIX=/usr is the Debian package's layout: kpm.so where
# crash's `extend kpm.so` finds it by name (/usr/lib/crash/extensions), the
# kpm package in Debian python3's dist-packages.  Under /usr/local, crash
# needs CRASH_EXTENSIONS=$(PREFIX)/lib/crash/extensions, and the package goes
# to /usr/local/lib/python3.X/dist-packages, which Debian's python3 searches.
PREFIX ?= /usr/local
DESTDIR ?=
PYTHON ?= /usr/bin/python3
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
CRASH_EXTDIR ?= $(PREFIX)/lib/crash/extensions
PYDIR ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/python3/dist-packages,$(PREFIX)/lib/python$(PYVER)/dist-packages)
BINDIR ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/kpm
DOCDIR ?= $(PREFIX)/share/doc/kpm
MANDIR ?= $(PREFIX)/share/man
MAN_OUT := build/man

man: $(KPM_DUMP) tools/mkman
	tools/mkman $(KPM_DUMP) $(MAN_OUT)

install: all man
	install -D -m644 $(KPM_SO) $(DESTDIR)$(CRASH_EXTDIR)/kpm.so
	install -D -m755 $(KPM_DUMP) $(DESTDIR)$(BINDIR)/kpm-dump
	install -d $(DESTDIR)$(PYDIR)/kpm
	install -m644 drgn-helpers/kpm/*.py $(DESTDIR)$(PYDIR)/kpm/
	install -m644 $(KPM_LIB) $(DESTDIR)$(PYDIR)/kpm/libkpm.so
	install -D -m755 drgn-helpers/kpm_drgn.py $(DESTDIR)$(SHAREDIR)/kpm_drgn.py
	install -m644 filter/makedumpfile.conf $(DESTDIR)$(SHAREDIR)/makedumpfile.conf
	ln -sf ../share/kpm/kpm_drgn.py $(DESTDIR)$(BINDIR)/kpm-drgn
	install -D -m644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m644 docs/*.md $(DESTDIR)$(DOCDIR)/
	install -D -m644 $(MAN_OUT)/kpm-dump.1 $(DESTDIR)$(MANDIR)/man1/kpm-dump.1
	install -D -m644 $(MAN_OUT)/kpm.7 $(DESTDIR)$(MANDIR)/man7/kpm.7
	install -D -m644 $(MAN_OUT)/kpm-drgn.1 $(DESTDIR)$(MANDIR)/man1/kpm-drgn.1

uninstall:
	rm -f $(DESTDIR)$(CRASH_EXTDIR)/kpm.so $(DESTDIR)$(BINDIR)/kpm-dump $(DESTDIR)$(BINDIR)/kpm-drgn
	rm -rf $(DESTDIR)$(PYDIR)/kpm $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/kpm-dump.1 $(DESTDIR)$(MANDIR)/man1/kpm-drgn.1 \
		$(DESTDIR)$(MANDIR)/man7/kpm.7

deb:
	dpkg-buildpackage -b -us -uc

clean:
	rm -f $(KPM_SO) $(KPM_LIB) $(KPM_DUMP) $(KPM_SO_ARM64)
	rm -rf $(MAN_OUT)

.PHONY: all arm64 fuzz test test-6.1 test-6.12 trixie live-image demo bench bench-dump fixtures clean man install uninstall deb
