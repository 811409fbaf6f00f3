# kpm: kernel post-mortem toolkit
#
#   make            crash-ext/kpm.so, drgn-helpers/kpm/libkpm.so, standalone/kpm-dump
#   make test       build, then run the test suite on the committed fixtures,
#                   6.1 with the host's tools, 6.12 in the trixie chroot
#   make trixie     the trixie toolchain chroot (crash 8.0.6, drgn 0.0.31)
#   make demo       decode the bundled fixtures in crash
#   make bench      kmemleak decoding rates: kpm vs crash's list vs a drgn loop
#   make fixtures   regenerate the fixtures (kernel build + QEMU; never in CI)

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

all: $(KPM_SO) $(KPM_LIB) $(KPM_DUMP)

$(KPM_SO): crash-ext/kpm.c $(CORE_SRC) $(CORE_HDR) $(CRASH_DEFS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Werror -Wno-sign-compare -Wno-missing-field-initializers \
		-fPIC -shared -nostartfiles $(ARCH_DEF) -I$(dir $(CRASH_DEFS)) -Icore \
		-o $@ crash-ext/kpm.c $(CORE_SRC)

$(KPM_LIB): drgn-helpers/libkpm.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Werror -fPIC -shared -Icore -o $@ drgn-helpers/libkpm.c $(CORE_SRC)

# Both bases: 6.1 dumps with bookworm's crash 8.0.2 and drgn 0.0.22 (host),
# 6.12 dumps with trixie's crash 8.0.6 and drgn 0.0.31 (chroot).
$(KPM_DUMP): standalone/kpm-dump.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Werror -Icore -o $@ standalone/kpm-dump.c $(CORE_SRC) \
		-lkdumpfile -ldw -lelf

test: all
	tests/run
	tests/run-trixie

test-6.1: all
	tests/run

test-6.12:
	tests/run-trixie

trixie:
	tools/mk-trixie

demo: all
	tests/demo

bench: all
	tests/bench

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

clean:
	rm -f $(KPM_SO) $(KPM_LIB) $(KPM_DUMP)

.PHONY: all test test-6.1 test-6.12 trixie demo bench fixtures clean
