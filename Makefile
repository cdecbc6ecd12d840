# SPDX-License-Identifier: GPL-2.0
# One Makefile for everything: the BPF object and its skeleton, the engine (meter/), the
# backends, the service, the screen (tui/), the tools, the tests, the benchmark and install.

# SANITIZE=1 builds every user-space object, program and test with ASan and UBSan into a tree
# of its own, programs included, so a normal build (./tmtop, .output) is never clobbered.
SANITIZE ?=
ifeq ($(SANITIZE),1)
OUTPUT   ?= .output-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BIN      := $(OUTPUT)/
else
OUTPUT   ?= .output
SAN_FLAGS :=
BIN      :=
endif
CC       ?= gcc
CLANG    ?= clang
# The sanitized build uses clang unless CC is given: a program built by gcc 12 with ASan and
# UBSan writes UBSan's reports to stderr whatever log_path says, so the suite's report files
# never saw them (tests/run.sh builds a canary with the same compiler to check that one arrives).
export TM_SAN_CC := $(if $(filter default,$(origin CC)),$(CLANG),$(CC))
ifeq ($(SANITIZE),1)
CC       := $(TM_SAN_CC)
endif
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || ls /usr/sbin/bpftool /usr/lib/linux-tools/*/bpftool 2>/dev/null | head -n1)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
VERSION  := 0.2.0

# CFLAGS is the user's (make CFLAGS='-O0 -g' works); what the build needs is TM_CFLAGS.
CFLAGS   ?= -O2 -g
# What the build needs whatever CFLAGS says: "make CFLAGS=-O0" replaces CFLAGS, not these.
TM_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -Wshadow \
	     $(if $(CC_IS_CLANG),-Wno-unknown-warning-option) \
	     -D_GNU_SOURCE -DTM_VERSION='"$(VERSION)"' -I$(OUTPUT) -Ibpf -I. -MMD -MP \
	     $(shell pkg-config --cflags json-c 2>/dev/null) $(SAN_FLAGS)
TM_LDFLAGS := $(SAN_FLAGS)
LDLIBS_BPF := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz
LDLIBS_CURSES := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
LDLIBS_JSON := $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c)
LDLIBS_SQLITE := $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)
LDLIBS_MHD := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -I$(OUTPUT) \
	      $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH))

METER_SRC   := $(wildcard meter/*.c)
BACKEND_SRC := $(wildcard backend/*.c)
SERVICE_SRC := $(wildcard service/*.c)
TUI_SRC     := $(filter-out tui/main.c,$(wildcard tui/*.c))
METER_OBJ   := $(METER_SRC:%.c=$(OUTPUT)/%.o)
BACKEND_OBJ := $(BACKEND_SRC:%.c=$(OUTPUT)/%.o)
SERVICE_OBJ := $(SERVICE_SRC:%.c=$(OUTPUT)/%.o)
TUI_OBJ     := $(TUI_SRC:%.c=$(OUTPUT)/%.o)
LIBMETER    := $(OUTPUT)/libmeter.a
LIBSERVICE  := $(OUTPUT)/libservice.a
LIBTUI      := $(OUTPUT)/libtui.a
LIBS_ALL    := $(LIBTUI) $(LIBSERVICE) $(LIBMETER)
LDLIBS_ALL  := $(LDLIBS_JSON) $(LDLIBS_SQLITE) $(LDLIBS_MHD) $(LDLIBS_CURSES) $(LDLIBS_BPF) -lpthread -lm

UNIT_TESTS  := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS   := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%,$(wildcard tests/bpf/test_*.c))

PROGS := traffic_meter_user ipmask_tool tmtop
APPS := $(addprefix $(BIN),$(PROGS))

# Where tests/run.sh and the bats suites find the programs and the cmocka binaries.
export TM_BIN_DIR := $(abspath $(if $(BIN),$(BIN),.))
export TM_TEST_DIR := $(abspath $(OUTPUT)/tests)
ifeq ($(SANITIZE),1)
# Reports go to files that tests/run.sh turns into one more suite: a leak in a logger that a
# test stops with SIGTERM is seen there even when the test never looks at the exit status.
export TM_SAN_LOG_DIR := $(abspath $(OUTPUT)/sanitizer)
export ASAN_OPTIONS ?= halt_on_error=1:detect_leaks=1:log_path=$(TM_SAN_LOG_DIR)/asan
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1:log_path=$(TM_SAN_LOG_DIR)/ubsan
endif

.PHONY: all clean deps test check run bench screenshots masks tests format fuzzers fuzz \
	fuzz-ci fuzz-merge fuzzers-if-possible sanitized-tests install uninstall system-user
.DELETE_ON_ERROR:

# The sanitized build leaves the root alone: no copy of the BPF object there either.
all: $(if $(BIN),,traffic_meter.bpf.o) $(APPS)

ifneq ($(BIN),)
# "make SANITIZE=1 tmtop" builds $(OUTPUT)/tmtop.
.PHONY: $(PROGS)
$(PROGS): %: $(BIN)%
endif

$(OUTPUT) $(OUTPUT)/tests:
	@mkdir -p $@

# --- kernel side ---------------------------------------------------------------------------
# Reading the socket's real owner needs struct sock: the types come from this kernel's BTF.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	@test -n "$(BPFTOOL)" || { echo "bpftool not found: run 'make deps'" >&2; exit 1; }
	@test -r "$(VMLINUX_BTF)" || { echo "$(VMLINUX_BTF) not found: the kernel needs BTF (CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/traffic_meter.bpf.o: bpf/traffic_meter.bpf.c bpf/traffic_meter.h $(OUTPUT)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

traffic_meter.bpf.o: $(OUTPUT)/traffic_meter.bpf.o
	cp $< $@

$(OUTPUT)/traffic_meter.skel.h: $(OUTPUT)/traffic_meter.bpf.o
	@test -n "$(BPFTOOL)" || { echo "bpftool not found: run 'make deps'" >&2; exit 1; }
	$(BPFTOOL) gen skeleton $< name traffic_meter_bpf > $@

# --- user space ------------------------------------------------------------------------------
$(OUTPUT)/%.o: %.c | $(OUTPUT)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TM_CFLAGS) -c $< -o $@

# Only the collector includes the skeleton; it must exist before anything that may.
$(METER_OBJ) $(BACKEND_OBJ) $(SERVICE_OBJ) $(TUI_OBJ) $(OUTPUT)/tui/main.o \
	$(OUTPUT)/tools/traffic_meter_user.o: $(OUTPUT)/traffic_meter.skel.h

$(LIBMETER): $(METER_OBJ) $(BACKEND_OBJ)
	$(AR) rcs $@ $^

$(LIBSERVICE): $(SERVICE_OBJ)
	$(AR) rcs $@ $^

$(LIBTUI): $(TUI_OBJ)
	$(AR) rcs $@ $^

$(BIN)traffic_meter_user: $(OUTPUT)/tools/traffic_meter_user.o $(LIBSERVICE) $(LIBMETER)
	$(CC) $(LDFLAGS) $(TM_LDFLAGS) $^ $(LDLIBS_JSON) $(LDLIBS_SQLITE) $(LDLIBS_MHD) $(LDLIBS_BPF) \
		-lpthread -lm -o $@

$(BIN)ipmask_tool: $(OUTPUT)/tools/ipmask_tool.o $(LIBMETER)
	$(CC) $(LDFLAGS) $(TM_LDFLAGS) $^ $(LDLIBS_BPF) -o $@

$(BIN)tmtop: $(OUTPUT)/tui/main.o $(LIBS_ALL)
	$(CC) $(LDFLAGS) $(TM_LDFLAGS) $^ $(LDLIBS_ALL) -o $@

# Regenerate the compiled-in default ignore list from its source list.
masks: $(BIN)ipmask_tool
	$(TM_BIN_DIR)/ipmask_tool bpf/ip_list.txt > bpf/untracked_masks.h.new && mv bpf/untracked_masks.h.new bpf/untracked_masks.h

# --- tests -----------------------------------------------------------------------------------
$(OUTPUT)/tests/%: tests/unit/%.c $(LIBS_ALL) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $(TM_CFLAGS) $(LDFLAGS) $(TM_LDFLAGS) $< $(LIBS_ALL) -lcmocka $(LDLIBS_ALL) -o $@

$(OUTPUT)/tests/%: tests/bpf/%.c $(LIBMETER) $(OUTPUT)/traffic_meter.skel.h | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $(TM_CFLAGS) $(LDFLAGS) $(TM_LDFLAGS) $< $(LIBMETER) -lcmocka $(LDLIBS_BPF) \
		-lpthread -o $@

tests: all $(UNIT_TESTS) $(BPF_TESTS) fuzzers-if-possible

# What the sanitized pass of "make test" runs (built with SANITIZE=1): the programs and the
# cmocka tests; the fuzzers are ASan+UBSan builds of their own already.
sanitized-tests: all $(UNIT_TESTS) $(BPF_TESTS)

# The README's test command (and CI's): install what is missing, build, run the whole suite.
# That is every suite against the normal build, then the unit, BPF, integration and TUI suites
# again against a build with ASan and UBSan, no recovery (.output-san; tests/run.sh says why the
# fuzzers and the bench smoke are left out), in one run with one closing line; any sanitizer
# report fails it. TEST_SANITIZED=0 leaves the second pass out; "make test SANITIZE=1" runs
# every suite against the sanitized build only.
TEST_SANITIZED ?= 1
ifeq ($(SANITIZE)$(TEST_SANITIZED),1)
test: deps
	$(MAKE) tests
	$(MAKE) SANITIZE=1 sanitized-tests
	TM_SAN_PASS=1 TM_SAN_BIN_DIR=$(abspath .output-san) \
		TM_SAN_TEST_DIR=$(abspath .output-san/tests) tests/run.sh
else
test: deps
	$(MAKE) tests
	tests/run.sh
endif

check: tests
	tests/run.sh

deps:
	@scripts/deps.sh

# Running needs the build dependencies only, and the user tmtop that the meter drops to.
run:
	@TMTOP_DEPS=build scripts/deps.sh
	$(MAKE) all
	@$(MAKE) --no-print-directory system-user
	$(TM_BIN_DIR)/tmtop

bench: deps
	$(MAKE) all
	bench/run.sh

screenshots: deps
	TMTOP_DEPS=screenshots scripts/deps.sh
	$(MAKE) all
	scripts/screenshots.sh

# --- fuzzing ---------------------------------------------------------------------------------
# libFuzzer harnesses in tests/fuzz/, built with clang whatever CC is, with ASan and UBSan; the
# code under test is compiled with the same instrumentation into $(FUZZ_OUT).
FUZZ_OUT     := $(OUTPUT)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -D_GNU_SOURCE -Ibpf -I. $(FUZZ_SAN)
FUZZ_SECONDS ?= 60
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))
export TM_FUZZ_DIR := $(abspath $(FUZZ_OUT))

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_OUT)/fuzz_iplist: $(FUZZ_OUT)/obj/meter/iplist.o
$(FUZZ_OUT)/fuzz_csv_row $(FUZZ_OUT)/fuzz_csv_tail: $(FUZZ_OUT)/obj/backend/csv.o \
	$(FUZZ_OUT)/obj/backend/rowfmt.o $(FUZZ_OUT)/obj/backend/backend.o \
	$(FUZZ_OUT)/obj/backend/flows.o
# The codec, and what it names owners, addresses, prefixes and modes with.
$(FUZZ_OUT)/fuzz_proto: $(addprefix $(FUZZ_OUT)/obj/,service/proto.o backend/backend.o \
	backend/csv.o backend/flows.o backend/rowfmt.o meter/iplist.o meter/users.o meter/cli.o \
	meter/cgroup.o \
	meter/snapshot.o)
$(FUZZ_OUT)/fuzz_proto: FUZZ_LIBS := $(LDLIBS_JSON) -lm

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(filter %.c %.o,$^) $(FUZZ_LIBS) -lz -lpthread \
		-o $@

fuzzers: $(FUZZ_BINS)

# Part of "make tests" where clang's libFuzzer runtime exists; tests/fuzz/run.sh reports the
# suite as skipped where it does not.
fuzzers-if-possible:
	@if printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' | \
	    $(CLANG) -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then \
		$(MAKE) --no-print-directory fuzzers; \
	else \
		echo "fuzz: clang cannot link -fsanitize=fuzzer (libclang-rt-dev missing?):" \
		     "fuzzers not built" >&2; \
	fi

# Each harness for FUZZ_SECONDS; what it finds goes to $(FUZZ_OUT)/found/<name>, not into git.
fuzz: fuzzers
	tests/fuzz/run.sh --seconds $(FUZZ_SECONDS)

# What tests/run.sh runs: the checked-in corpus once, then 10 s of fuzzing per harness.
fuzz-ci: fuzzers
	tests/fuzz/run.sh --ci

# Add to the checked-in corpus only what "make fuzz" found that adds coverage.
fuzz-merge: fuzzers
	tests/fuzz/run.sh --merge

# --- install ---------------------------------------------------------------------------------
# "make install" puts the programs, man pages, the service unit, its sysusers.d and tmpfiles.d
# entries, the logrotate configuration and bash completion under PREFIX (DESTDIR for staging;
# every directory below can be overridden). Without DESTDIR it also creates the user tmtop and
# the directories, so "systemctl enable --now tmtop" works right after. logrotate only reads
# /etc/logrotate.d, so that one is under SYSCONFDIR, /etc whatever PREFIX is; systemd,
# systemd-sysusers and systemd-tmpfiles also read /usr/local/lib.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
SBINDIR      ?= $(PREFIX)/sbin
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
SYSCONFDIR   ?= /etc
UNITDIR      ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR  ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR  ?= $(PREFIX)/lib/tmpfiles.d
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
BASHCOMPDIR  ?= $(DATADIR)/bash-completion/completions
INSTALL      ?= install

# What install copies, as installed paths (uninstall removes exactly these).
INSTALLED := $(BINDIR)/tmtop $(BINDIR)/ipmask_tool $(SBINDIR)/traffic_meter_user \
	$(MANDIR)/man8/tmtop.8 $(MANDIR)/man8/traffic_meter_user.8 $(MANDIR)/man1/ipmask_tool.1 \
	$(UNITDIR)/tmtop.service $(SYSUSERSDIR)/tmtop.conf $(TMPFILESDIR)/tmtop.conf \
	$(LOGROTATEDIR)/tmtop $(BASHCOMPDIR)/tmtop $(BASHCOMPDIR)/traffic_meter_user \
	$(BASHCOMPDIR)/ipmask_tool

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(LOGROTATEDIR) $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 0755 $(BIN)tmtop $(BIN)ipmask_tool $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 $(BIN)traffic_meter_user $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0644 man/tmtop.8 man/traffic_meter_user.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 man/ipmask_tool.1 $(DESTDIR)$(MANDIR)/man1/
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/tmtop.service.in > $(DESTDIR)$(UNITDIR)/tmtop.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/tmtop.service
	$(INSTALL) -m 0644 dist/tmtop.sysusers $(DESTDIR)$(SYSUSERSDIR)/tmtop.conf
	$(INSTALL) -m 0644 dist/tmtop.tmpfiles $(DESTDIR)$(TMPFILESDIR)/tmtop.conf
	$(INSTALL) -m 0644 dist/tmtop.logrotate $(DESTDIR)$(LOGROTATEDIR)/tmtop
	$(INSTALL) -m 0644 dist/tmtop.bash-completion $(DESTDIR)$(BASHCOMPDIR)/tmtop
	ln -sf tmtop $(DESTDIR)$(BASHCOMPDIR)/traffic_meter_user
	ln -sf tmtop $(DESTDIR)$(BASHCOMPDIR)/ipmask_tool
ifeq ($(DESTDIR),)
	scripts/sysusers.sh $(SYSUSERSDIR)/tmtop.conf $(TMPFILESDIR)/tmtop.conf
	@if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "installed; start the meter now and at every boot with: systemctl enable --now tmtop"
endif

# Leaves the logs, the history and the user tmtop, like a package's "remove" (not "purge").
uninstall:
ifeq ($(DESTDIR),)
	@if [ -d /run/systemd/system ] && [ -e $(UNITDIR)/tmtop.service ]; then \
		systemctl disable --now tmtop.service || true; fi
endif
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
ifeq ($(DESTDIR),)
	@if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
endif

# The user and directories alone, from the sources: what "make run" needs for its meter.
system-user:
	scripts/sysusers.sh dist/tmtop.sysusers dist/tmtop.tmpfiles

# Kernel style (.clang-format) on the lines changed since FORMAT_BASE, not on whole files:
# .clang-format says why. On a clean tree it changes nothing.
FORMAT_BASE ?= HEAD
format:
	git clang-format --force --extensions c,h $(FORMAT_BASE) -- bpf meter backend service tui tools tests

clean:
	rm -rf $(OUTPUT) $(APPS) $(if $(BIN),,traffic_meter.bpf.o .output-san)

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
