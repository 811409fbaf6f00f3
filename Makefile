# kpm: kernel post-mortem toolkit
#
#   make            crash-ext/kpm.so and drgn-helpers/kpm/libkpm.so
#   make test       build, then run the test suite on the committed fixtures
#   make demo       decode the bundled fixtures in crash
#   make bench      kmemleak decoding rates: kpm vs crash's list vs a drgn loop
#   make fixtures   regenerate the fixtures (kernel build + QEMU; never in CI)

CC ?= gcc
CRASH_DEFS ?= /usr/include/crash/defs.h
ARCH_DEF ?= -DX86_64
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wno-unused-parameter
CORE_SRC := core/target.c core/nvme.c core/kmemleak.c
CORE_HDR := core/target.h core/nvme.h core/kmemleak.h
PY := /usr/bin/python3

all: crash-ext/kpm.so drgn-helpers/kpm/libkpm.so

crash-ext/kpm.so: crash-ext/kpm.c $(CORE_SRC) $(CORE_HDR) $(CRASH_DEFS)
	$(CC) $(CFLAGS) $(WARN) -Wno-sign-compare -Wno-missing-field-initializers \
		-fPIC -shared -nostartfiles $(ARCH_DEF) -I$(dir $(CRASH_DEFS)) -Icore \
		-o $@ crash-ext/kpm.c $(CORE_SRC)

drgn-helpers/kpm/libkpm.so: drgn-helpers/libkpm.c $(CORE_SRC) $(CORE_HDR)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared -Icore -o $@ drgn-helpers/libkpm.c $(CORE_SRC)

test: all
	tests/run

demo: all
	tests/demo

bench: all
	tests/bench

fixtures:
	fixtures/vmcores/make-fixture 6.1 nvme
	fixtures/vmcores/make-fixture 6.1 kmemleak

clean:
	rm -f crash-ext/kpm.so drgn-helpers/kpm/libkpm.so

.PHONY: all test demo bench fixtures clean
