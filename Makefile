# SPDX-License-Identifier: GPL-2.0
# One Makefile for everything: the BPF object and its skeleton, the engine (meter/), the
# backends, the service (service/), the screen (tui/), the tools, the tests and the benchmark.

OUTPUT   ?= .output
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || ls /usr/sbin/bpftool /usr/lib/linux-tools/*/bpftool 2>/dev/null | head -n1)
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
VERSION  := 0.1.0

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -D_GNU_SOURCE \
	    -DTM_VERSION='"$(VERSION)"' -I$(OUTPUT) -Ibpf -I. -MMD -MP
LDLIBS_BPF := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz
LDLIBS_CURSES := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
LDLIBS_SQLITE := $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf \
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
LIBTUI      := $(OUTPUT)/libtui.a
# What only the long-running meter does; kept out of libmeter.a so that only programs that
# use it link SQLite.
LIBSERVICE  := $(OUTPUT)/libservice.a

UNIT_TESTS  := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS   := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%,$(wildcard tests/bpf/test_*.c))

APPS := traffic_meter.bpf.o traffic_meter_user ipmask_tool tmtop

.PHONY: all clean deps test check run bench screenshots masks tests format
.DELETE_ON_ERROR:

all: $(APPS)

$(OUTPUT) $(OUTPUT)/meter $(OUTPUT)/backend $(OUTPUT)/tui $(OUTPUT)/tools $(OUTPUT)/tests:
	@mkdir -p $@

# --- kernel side ---------------------------------------------------------------------------
$(OUTPUT)/traffic_meter.bpf.o: bpf/traffic_meter.bpf.c bpf/traffic_meter.h | $(OUTPUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

traffic_meter.bpf.o: $(OUTPUT)/traffic_meter.bpf.o
	cp $< $@

$(OUTPUT)/traffic_meter.skel.h: $(OUTPUT)/traffic_meter.bpf.o
	@test -n "$(BPFTOOL)" || { echo "bpftool not found: run 'make deps'" >&2; exit 1; }
	$(BPFTOOL) gen skeleton $< name traffic_meter_bpf > $@

# --- user space ------------------------------------------------------------------------------
$(OUTPUT)/%.o: %.c | $(OUTPUT)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# Everything in meter/ may include the skeleton; generate it first.
$(METER_OBJ) $(BACKEND_OBJ) $(TUI_OBJ) $(OUTPUT)/tui/main.o $(OUTPUT)/tools/traffic_meter_user.o: \
	$(OUTPUT)/traffic_meter.skel.h

$(LIBMETER): $(METER_OBJ) $(BACKEND_OBJ)
	$(AR) rcs $@ $^

$(LIBTUI): $(TUI_OBJ)
	$(AR) rcs $@ $^

$(LIBSERVICE): $(SERVICE_OBJ)
	$(AR) rcs $@ $^

traffic_meter_user: $(OUTPUT)/tools/traffic_meter_user.o $(LIBMETER)
	$(CC) $(LDFLAGS) $^ $(LDLIBS_BPF) -lpthread -o $@

ipmask_tool: $(OUTPUT)/tools/ipmask_tool.o $(LIBMETER)
	$(CC) $(LDFLAGS) $^ $(LDLIBS_BPF) -o $@

tmtop: $(OUTPUT)/tui/main.o $(LIBTUI) $(LIBMETER)
	$(CC) $(LDFLAGS) $^ $(LDLIBS_CURSES) $(LDLIBS_BPF) -lpthread -o $@

# Regenerate the compiled-in default ignore list from its source list.
masks: ipmask_tool
	./ipmask_tool bpf/ip_list.txt > bpf/untracked_masks.h.new && mv bpf/untracked_masks.h.new bpf/untracked_masks.h

# --- tests -----------------------------------------------------------------------------------
$(OUTPUT)/tests/%: tests/unit/%.c $(LIBTUI) $(LIBSERVICE) $(LIBMETER) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $< $(LIBTUI) $(LIBSERVICE) $(LIBMETER) -lcmocka $(LDLIBS_BPF) \
		$(LDLIBS_CURSES) $(LDLIBS_SQLITE) -lpthread -o $@

$(OUTPUT)/tests/%: tests/bpf/%.c $(LIBMETER) $(OUTPUT)/traffic_meter.skel.h | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $< $(LIBMETER) -lcmocka $(LDLIBS_BPF) -lpthread -o $@

tests: all $(UNIT_TESTS) $(BPF_TESTS)

# The README's test command: install what is missing, build, run the whole suite.
test: deps
	$(MAKE) tests
	tests/run.sh

check: tests
	tests/run.sh

deps:
	@scripts/deps.sh

run: deps
	$(MAKE) all
	./tmtop

bench: deps
	$(MAKE) all
	bench/run.sh

screenshots: deps
	TMTOP_DEPS=screenshots scripts/deps.sh
	$(MAKE) all
	scripts/screenshots.sh

format:
	clang-format -i $(wildcard bpf/*.c bpf/*.h meter/*.[ch] backend/*.[ch] service/*.[ch] \
		tui/*.[ch] tools/*.c tests/*/*.c)

clean:
	rm -rf $(OUTPUT) $(APPS)

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
