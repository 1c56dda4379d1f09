# cryptlayer — see ../shared/STYLE.md §1.8 for the conventions
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
DATADIR ?= $(PREFIX)/share
# podman's descriptors go to both: DESIGN §5 names /etc/containers/oci/hooks.d, but podman
# 4.3 (Debian 12) reads only /usr/share/containers/oci/hooks.d unless containers.conf sets
# hooks_dir. Where a podman reads both, the same file name in /etc overrides, so the hook
# is loaded once.
HOOKSDIR ?= /etc/containers/oci/hooks.d
PODMAN_HOOKSDIR ?= /usr/share/containers/oci/hooks.d
CRIO_HOOKSDIR ?= $(DATADIR)/cryptlayer/crio-hooks.d
# containerd's runtime handler: base_runtime_spec + config drop-in (contrib/containerd/)
CONTAINERD_DIR ?= $(DATADIR)/cryptlayer/containerd
# what the installed hooks.d descriptors pass as --root and --run-dir (hooks get no env)
CL_ROOT ?= /var/lib/cryptlayer
CL_RUN_DIR ?= /run/cryptlayer
B       ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g

# Hook path (DESIGN §2): the binary links json-c statically and nothing else but libc.
# libmount (+ libblkid, libselinux, libpcre2: ~0.5 ms per exec) is dlopen'ed on first use
# (lib/mount/libmount-dl.h). OpenSSL (static: ~0.3 ms of relocations per exec) lives in
# the crypto plugin, with persistent keys and the bulk commands; libarchive (+ libxml2,
# ICU, ...: ~1.6 ms per exec) in the tar plugin. Both are dlopen'ed only when needed.
STATIC_PKGS := libcrypto json-c
HDR_PKGS    := mount
PLUGIN_PKGS := libarchive libzstd zlib

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
        -Wpointer-arith -Wimplicit-fallthrough -Wvla -Wno-missing-field-initializers
override CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -I. \
        $(shell pkg-config --cflags $(STATIC_PKGS) $(HDR_PKGS) $(PLUGIN_PKGS))
override CFLAGS += -std=gnu11 $(WARN) $(if $(filter 1,$(WERROR)),-Werror) \
        -fstack-protector-strong -fPIC -MMD -MP
override LDFLAGS += -Wl,-z,relro,-z,now
LDLIBS_MAIN := -Wl,-Bstatic $(shell pkg-config --libs $(STATIC_PKGS)) -Wl,-Bdynamic -ldl -lpthread
LDLIBS_BIN := -Wl,-Bstatic $(shell pkg-config --libs json-c) -Wl,-Bdynamic -ldl
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ifeq ($(SAN),1)
override CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
LDLIBS_MAIN := $(shell pkg-config --libs $(STATIC_PKGS)) -ldl -lpthread
LDLIBS_BIN := $(shell pkg-config --libs json-c) -ldl
# the sanitizers' runtime makes syscalls of its own: no seccomp filter (NNP and caps stay)
override CPPFLAGS += -DCL_SANDBOX_SAN
$(info sandbox: the sanitizer build loads no seccomp filter (lib/sandbox/sandbox.c))
endif
# Fault injection (tests/fault/fault.c, issue 14): the binary and both plugins fail their
# Nth wrapped call; never in a release build (check-exec-path)
ifeq ($(FAULT),1)
.DEFAULT_GOAL := all
FAULT_SYMS := mkdirat mkdir unlinkat unlink renameat rename linkat mknodat open openat write \
        pwrite fsync fsetxattr fchown fchmod ioctl setns mount umount2 fsopen fsconfig fsmount \
        move_mount open_tree mount_setattr getrandom syscall
$(B)/cryptlayer $(B)/cryptlayer-crypto.so $(B)/cryptlayer-tar.so: $(B)/tests/fault/fault.o Makefile
$(B)/cryptlayer $(B)/cryptlayer-crypto.so $(B)/cryptlayer-tar.so: override LDFLAGS += \
        $(B)/tests/fault/fault.o $(FAULT_SYMS:%=-Wl,--wrap=%)
$(B)/cryptlayer: override LDFLAGS += -Wl,--export-dynamic-symbol=cl_fault_shared
endif

LIB_SRCS := $(sort $(filter-out lib/core/log-forward.c lib/crypto/keyfile-plugin.c,$(wildcard lib/core/*.c lib/crypto/*.c lib/fscrypt/*.c lib/mount/*.c \
        lib/store/*.c lib/plan/*.c lib/exec/*.c lib/record/*.c lib/archive/*.c lib/probe/*.c lib/btrfs/*.c \
        lib/layer/*.c lib/sandbox/*.c oci/*.c)))
# the only code that includes <archive.h>: built into the plugin, never into the binary
PLUGIN_SRCS := $(sort $(wildcard lib/archive/tar/*.c))
CMD_SRCS := $(sort $(filter-out cmd/cryptlayer/plugin-host.c,$(wildcard cmd/cryptlayer/*.c hooks/*.c)))
# OpenSSL users: the crypto plugin (and libcryptlayer.a, for the tests), never the binary
CRYPTO_LIB_SRCS := $(filter-out lib/crypto/secret.c lib/crypto/machine-key.c \
        lib/crypto/keyfile-ops.c,$(wildcard lib/crypto/*.c)) $(wildcard lib/archive/*.c)
# ... and the commands that include OpenSSL, lib/archive or OpenSSL-backed lib/crypto headers
CRYPTO_CMD_SRCS := $(sort $(shell grep -lE '#include (<openssl/|"lib/archive/|"lib/crypto/(aead|algs|kdf|keyfile|ossl-err|recipient|wrap)\.h)' \
        cmd/cryptlayer/*.c) cmd/cryptlayer/progress.c cmd/cryptlayer/plugin-commands.c)
BIN_LIB_SRCS := $(filter-out $(CRYPTO_LIB_SRCS),$(LIB_SRCS))
BIN_CMD_SRCS := $(filter-out $(CRYPTO_CMD_SRCS),$(CMD_SRCS))
# the seccomp programs, made from lib/sandbox/policy.c by libseccomp at build time
SANDBOX_BPF_OBJ := $(B)/lib/sandbox/bpf-table.o
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o) $(SANDBOX_BPF_OBJ)
CMD_OBJS := $(CMD_SRCS:%.c=$(B)/%.o)
BIN_LIB_OBJS := $(BIN_LIB_SRCS:%.c=$(B)/%.o) $(SANDBOX_BPF_OBJ)
BIN_CMD_OBJS := $(BIN_CMD_SRCS:%.c=$(B)/%.o)
# The plugin runs the OpenSSL commands with the binary's lifecycle and log (struct
# cl_host_ops, cmd/cryptlayer/plugin-host.c): it carries those commands, the crypto and
# archive code and the stateless core, never lib/layer, exec, plan, store, mount, record
# or hooks (check-plugin-path).
PLUGIN_HOST_SRCS := cmd/cryptlayer/plugin-host.c
CRYPTO_PLUGIN_OBJS := $(CRYPTO_CMD_SRCS:%.c=$(B)/%.o) $(B)/cmd/cryptlayer/cli.o \
        $(B)/cmd/cryptlayer/plugin-host.o $(B)/lib/crypto/keyfile-plugin.o
CRYPTO_PLUGIN_LIB_SRCS := $(CRYPTO_LIB_SRCS) $(filter-out lib/core/log.c,$(wildcard lib/core/*.c)) \
        lib/crypto/secret.c lib/crypto/machine-key.c lib/fscrypt/fscrypt.c oci/json-util.c \
        oci/image.c \
        $(wildcard lib/sandbox/*.c)
PLUGIN_OBJS := $(PLUGIN_SRCS:%.c=$(B)/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_REPLAY := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/tests/replay-%)

all: $(B)/cryptlayer $(B)/cryptlayer-crypto.so $(if $(PLUGIN_SRCS),$(B)/cryptlayer-tar.so)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The version lives in a generated header that changes only when `git describe` does,
# so main.o is rebuilt after a commit (a -D flag is invisible to make).
$(B)/version.h: FORCE
	@mkdir -p $(B)
	@echo '#define CL_VERSION "$(VERSION)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(B)/cmd/cryptlayer/main.o: $(B)/version.h
$(B)/cmd/cryptlayer/main.o: override CPPFLAGS += -include $(B)/version.h
# Likewise where the plugins are installed: 'make PREFIX=/opt/x install' rebuilds the loader.
$(B)/libdir.h: FORCE
	@mkdir -p $(B)
	@echo '#define CL_LIBDIR "$(LIBDIR)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(B)/lib/core/plugin.o: $(B)/libdir.h
$(B)/lib/core/plugin.o: override CPPFLAGS += -include $(B)/libdir.h
FORCE:

# build tool (links libseccomp; never installed): the policy table → BPF, as C
$(B)/gen-bpf: lib/sandbox/gen/gen-bpf.c lib/sandbox/policy.c lib/sandbox/policy.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -O1 -g -o $@ lib/sandbox/gen/gen-bpf.c lib/sandbox/policy.c \
		$(shell pkg-config --libs libseccomp)
$(B)/lib/sandbox/bpf-table.c: $(B)/gen-bpf
	@mkdir -p $(dir $@)
	$(B)/gen-bpf >$@.tmp && mv $@.tmp $@
$(SANDBOX_BPF_OBJ): $(B)/lib/sandbox/bpf-table.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libcryptlayer.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/libcryptlayer-bin.a: $(BIN_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/cryptlayer: $(BIN_CMD_OBJS) $(B)/libcryptlayer-bin.a
	$(CC) $(CFLAGS) -pie $(LDFLAGS) -o $@ $(BIN_CMD_OBJS) $(B)/libcryptlayer-bin.a $(LDLIBS_BIN)

# exports only its two tables (cmd/cryptlayer/crypto-plugin.sym); the rest stays local
$(B)/libcryptlayer-plugin.a: $(CRYPTO_PLUGIN_LIB_SRCS:%.c=$(B)/%.o) $(SANDBOX_BPF_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/cryptlayer-crypto.so: $(CRYPTO_PLUGIN_OBJS) $(B)/libcryptlayer-plugin.a cmd/cryptlayer/crypto-plugin.sym
	$(CC) $(CFLAGS) -shared $(LDFLAGS) -Wl,--no-undefined \
		-Wl,--version-script=cmd/cryptlayer/crypto-plugin.sym \
		-o $@ $(CRYPTO_PLUGIN_OBJS) $(B)/libcryptlayer-plugin.a $(LDLIBS_MAIN)

# the plugin exports only its ops table (plugin.sym); err.o gives it cl_error_*
$(PLUGIN_OBJS): override CFLAGS += -fvisibility=hidden
$(B)/cryptlayer-tar.so: $(PLUGIN_OBJS) $(B)/lib/core/err.o $(B)/lib/core/fd-util.o $(B)/lib/archive/pool.o lib/archive/tar/plugin.sym
	$(CC) $(CFLAGS) -shared $(LDFLAGS) -Wl,--version-script=lib/archive/tar/plugin.sym \
		-o $@ $(PLUGIN_OBJS) $(B)/lib/core/err.o $(B)/lib/core/fd-util.o $(B)/lib/archive/pool.o \
		$(shell pkg-config --libs $(PLUGIN_PKGS)) -lpthread

# ---- tests ---------------------------------------------------------------------------
$(B)/tests/test-%: tests/unit/test-%.c $(B)/libcryptlayer.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pie $(LDFLAGS) -o $@ $< $(B)/libcryptlayer.a \
		$(shell pkg-config --libs cmocka) $(LDLIBS_MAIN) \
		$(shell sed -n 's|^/\* WRAP: \(.*\) \*/$$|\1|p' $<)

$(B)/tests/replay-fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/replay-main.c $(B)/libcryptlayer.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pie $(LDFLAGS) -o $@ $< tests/fuzz/replay-main.c \
		$(FUZZ_PLUGIN_OBJS) $(B)/libcryptlayer.a $(LDLIBS_MAIN) $(FUZZ_PLUGIN_LIBS)
# the tar target fuzzes the plugin's unpack: its objects and libraries are linked in
$(B)/tests/replay-fuzz-tar-entry $(B)/fuzz/fuzz-tar-entry: $(PLUGIN_OBJS)
$(B)/tests/replay-fuzz-tar-entry $(B)/fuzz/fuzz-tar-entry: FUZZ_PLUGIN_OBJS = $(PLUGIN_OBJS)
$(B)/tests/replay-fuzz-tar-entry $(B)/fuzz/fuzz-tar-entry: \
	FUZZ_PLUGIN_LIBS = $(shell pkg-config --libs $(PLUGIN_PKGS)) -lpthread

check-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "# $$t"; \
		CMOCKA_MESSAGE_OUTPUT=TAP tests/tools/tap-gate.sh $$t; done

check-fuzz-corpus: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_REPLAY); do n=$${t##*/replay-fuzz-}; \
		echo "# replay corpus $$n"; \
		CRYPTLAYER_FUZZ_TAR_SCRATCH=$(abspath $(B))/tests/fuzz-tar-scratch \
			$$t tests/fuzz/corpus/$$n/*; done

$(B)/tests/fscrypt-probe: tests/tools/fscrypt-probe.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<

# test driver for the tar plugin and the bulk engine (not installed)
$(B)/tests/cltar: tests/tools/cltar.c $(B)/libcryptlayer.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pie $(LDFLAGS) -o $@ $< $(B)/libcryptlayer.a $(LDLIBS_MAIN)

# raw throughput of the ocicrypt-mode cipher pipeline, for bench/oci.sh (not installed)
$(B)/tests/ctr-speed: tests/tools/ctr-speed.c $(B)/libcryptlayer.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pie $(LDFLAGS) -o $@ $< $(B)/libcryptlayer.a $(LDLIBS_MAIN)

# the suites run this build's binaries ($(B): build-asan under check-asan), not build/'s
check-integration: all $(B)/tests/fscrypt-probe $(B)/tests/cltar
	CRYPTLAYER=$(abspath $(B))/cryptlayer PROBE=$(abspath $(B))/tests/fscrypt-probe \
		CLTAR=$(abspath $(B))/tests/cltar tests/tools/tap-gate.sh bats --tap tests/integration

# The hook's exec path (DESIGN §2): the binary needs only libc, and carries no OpenSSL,
# libarchive or libmount code; those are dlopen'ed when a command needs them.
ifeq ($(SAN),1)
check-exec-path:
	@echo "exec path: not checked in the sanitizer build (it links libasan and libubsan)"
else
check-exec-path: $(B)/cryptlayer
	@! readelf -d $(B)/cryptlayer | grep NEEDED | grep -vE 'libc\.so|ld-linux' \
		|| { echo "exec path: $(B)/cryptlayer needs more than libc"; exit 1; }
	@! nm $(B)/cryptlayer | grep -E ' [TtDdRr] (EVP_|OPENSSL_|archive_|ZSTD_|mnt_)' | head -3 | grep . \
		|| { echo "exec path: OpenSSL/libarchive/libmount code in $(B)/cryptlayer"; exit 1; }
ifneq ($(FAULT),1)
	@! nm $(B)/cryptlayer | grep __wrap_ | head -3 | grep . \
		|| { echo "exec path: fault injection in $(B)/cryptlayer (a FAULT=1 object?)"; exit 1; }
endif
	@echo "exec path: ok ($(B)/cryptlayer needs libc only)"
endif

# The crypto plugin borrows the binary's lifecycle and log (struct cl_host_ops): no second
# copy of lib/layer, exec, plan, store, mount, record or hooks, and no log state of its own.
check-plugin-path: $(B)/cryptlayer-crypto.so
	@! nm $(B)/cryptlayer-crypto.so | grep -E ' [TtDdBb] (cl_(exec|plan|mount|hook|gc)_|cl_layer_(gc|stop|destroy|teardown|id_lock)|cl_store_open|cl_record_(read|write)|cl_log_open)' | head -3 | grep . \
		|| { echo "plugin path: $(B)/cryptlayer-crypto.so carries lifecycle or log code"; exit 1; }
	@echo "plugin path: ok (the crypto plugin borrows the lifecycle and the log)"

check: check-layering check-exec-path check-plugin-path check-unit check-fuzz-corpus check-integration

check-asan:
	$(MAKE) B=build-asan SAN=1 check

# Include direction (STYLE §1.1): action modules never include oci/ or plan/;
# oci/ uses only lib/core; lib/ never includes cmd/ or hooks/.
check-layering:
	@! grep -nE '#include "(oci|lib/plan)/' lib/core lib/crypto lib/fscrypt lib/mount lib/probe \
		lib/archive lib/btrfs -r --include='*.[ch]' || { echo "layering: action module includes oci/plan"; exit 1; }
	@! grep -nE '#include "(lib/(crypto|fscrypt|mount|store|plan|exec|record|archive|probe|btrfs)|hooks|cmd)/' \
		oci -r --include='*.[ch]' || { echo "layering: oci/ includes beyond lib/core"; exit 1; }
	@! grep -nE '#include "(hooks|cmd)/' lib oci -r --include='*.[ch]' \
		|| { echo "layering: lib/ or oci/ includes hooks/ or cmd/"; exit 1; }
	@# the lifecycle is lib/layer's: hooks/ and cmd/ reach plan and exec only through it,
	@# and nothing below it includes it
	@! grep -nE '#include "lib/(plan|exec)/' hooks cmd -r --include='*.[ch]' \
		|| { echo "layering: hooks/ or cmd/ bypass lib/layer"; exit 1; }
	@! grep -nE '#include "lib/layer/' lib oci -r --include='*.[ch]' | grep -v '^lib/layer/' \
		|| { echo "layering: a module below lib/layer includes it"; exit 1; }
	@! grep -nE '#include "lib/layer/(internal|gc-facts)\.h"' hooks cmd tests -r --include='*.[ch]' \
		|| { echo "layering: lib/layer internals used outside it"; exit 1; }
	@echo "layering: ok"

# libFuzzer (STYLE §1.9): the library is built once with clang into build-fuzz/, then each
# target runs for FUZZ_RUNS executions (or FUZZ_TIME seconds when FUZZ_RUNS is empty).
# New inputs go to build-fuzz/fuzz/new-NAME, never into the tree: 'make fuzz-merge' adds
# to tests/fuzz/corpus/NAME only the inputs that add coverage (libFuzzer -merge=1 keeps the
# smallest). FUZZ_TARGETS picks targets (e.g. FUZZ_TARGETS='record oci-state').
FUZZ_TIME ?= 60
FUZZ_RUNS ?=
FUZZ_TARGETS ?= $(FUZZ_SRCS:tests/fuzz/fuzz-%.c=%)
FUZZ_OPTS ?=
ifeq ($(FUZZ),1)
override CFLAGS += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer
endif
$(B)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(B)/libcryptlayer.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_PLUGIN_OBJS) $(B)/libcryptlayer.a \
		$(shell pkg-config --libs $(STATIC_PKGS)) -ldl -lpthread $(FUZZ_PLUGIN_LIBS)
fuzz-build: $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz-%)
fuzz-run: fuzz-build
	@set -e; for n in $(FUZZ_TARGETS); do mkdir -p $(B)/fuzz/new-$$n; echo "# fuzz $$n"; \
		$(B)/fuzz/fuzz-$$n $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_TIME)) \
			-artifact_prefix=$(B)/fuzz/crash-$$n- $(FUZZ_OPTS) \
			$(B)/fuzz/new-$$n tests/fuzz/corpus/$$n; done
fuzz-merge-run: fuzz-build
	@set -e; for n in $(FUZZ_TARGETS); do echo "# merge $$n"; \
		$(B)/fuzz/fuzz-$$n -merge=1 tests/fuzz/corpus/$$n $(B)/fuzz/new-$$n; done
fuzz:
	$(MAKE) B=build-fuzz FUZZ=1 CC=clang fuzz-run
fuzz-merge:
	$(MAKE) B=build-fuzz FUZZ=1 CC=clang fuzz-merge-run

bench: all
	bash bench/run

demo: all $(B)/tests/fscrypt-probe
	bash contrib/demo.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h' ':!:lib/*/uapi-*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h' ':!:lib/*/uapi-*.h')
lint: check-layering
	@# memleak: cppcheck does not model __attribute__((cleanup)) (lib/core/cleanup.h) and
	@# reports every _cleanup_ variable on an early return; leaks are caught by check-asan
	cppcheck -q --error-exitcode=1 --enable=warning,portability --suppress=memleak -I. \
		$$(git ls-files '*.c')
	shellcheck -x $$(git ls-files '*.sh' '*.bash' .ci/run bench/run)

# hooks.d descriptors (DESIGN §5): podman's (precreate, poststop) where podman looks by
# default; CRI-O's (createRuntime, poststop) in a directory podman never reads, for
# crio.conf hooks_dir. @BINDIR@, @ROOT@, @RUNDIR@ become absolute paths.
HOOK_JSON := $(notdir $(wildcard hooks/hooks.d/*.json))
CRIO_JSON := $(notdir $(wildcard hooks/hooks.d/crio/*.json))
SUBST_HOOK = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@ROOT@|$(CL_ROOT)|g' -e 's|@RUNDIR@|$(CL_RUN_DIR)|g' \
	-e 's|@DATADIR@|$(DATADIR)|g'
CONTAINERD_FILES := base-runtime-spec.json cryptlayer.toml

install: all
	install -D -m 0755 $(B)/cryptlayer $(DESTDIR)$(BINDIR)/cryptlayer
	install -D -m 0644 $(B)/cryptlayer-crypto.so $(DESTDIR)$(LIBDIR)/cryptlayer/cryptlayer-crypto.so
	$(if $(PLUGIN_SRCS),install -D -m 0644 $(B)/cryptlayer-tar.so $(DESTDIR)$(LIBDIR)/cryptlayer/cryptlayer-tar.so)
	install -d -m 0755 $(DESTDIR)$(HOOKSDIR) $(DESTDIR)$(PODMAN_HOOKSDIR) $(DESTDIR)$(CRIO_HOOKSDIR)
	@set -e; for d in $(HOOKSDIR) $(PODMAN_HOOKSDIR); do for f in $(HOOK_JSON); do \
		echo "install $(DESTDIR)$$d/$$f"; \
		$(SUBST_HOOK) hooks/hooks.d/$$f >$(DESTDIR)$$d/$$f; \
		chmod 0644 $(DESTDIR)$$d/$$f; done; done
	@set -e; for f in $(CRIO_JSON); do echo "install $(DESTDIR)$(CRIO_HOOKSDIR)/$$f"; \
		$(SUBST_HOOK) hooks/hooks.d/crio/$$f >$(DESTDIR)$(CRIO_HOOKSDIR)/$$f; \
		chmod 0644 $(DESTDIR)$(CRIO_HOOKSDIR)/$$f; done
	install -d -m 0755 $(DESTDIR)$(CONTAINERD_DIR)
	@set -e; for f in $(CONTAINERD_FILES); do echo "install $(DESTDIR)$(CONTAINERD_DIR)/$$f"; \
		$(SUBST_HOOK) contrib/containerd/$$f >$(DESTDIR)$(CONTAINERD_DIR)/$$f; \
		chmod 0644 $(DESTDIR)$(CONTAINERD_DIR)/$$f; done
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cryptlayer $(DESTDIR)$(LIBDIR)/cryptlayer/cryptlayer-tar.so \
		$(DESTDIR)$(LIBDIR)/cryptlayer/cryptlayer-crypto.so
	rm -f $(addprefix $(DESTDIR)$(HOOKSDIR)/,$(HOOK_JSON))
	rm -f $(addprefix $(DESTDIR)$(PODMAN_HOOKSDIR)/,$(HOOK_JSON))
	rm -f $(addprefix $(DESTDIR)$(CRIO_HOOKSDIR)/,$(CRIO_JSON))
	rm -f $(addprefix $(DESTDIR)$(CONTAINERD_DIR)/,$(CONTAINERD_FILES))
	-rmdir $(DESTDIR)$(LIBDIR)/cryptlayer $(DESTDIR)$(CRIO_HOOKSDIR) $(DESTDIR)$(CONTAINERD_DIR) \
		$(DESTDIR)$(DATADIR)/cryptlayer

clean:
	rm -rf $(B) build-asan build-fuzz

.PHONY: all check check-unit check-fuzz-corpus check-integration check-asan check-layering check-exec-path check-plugin-path \
	fuzz fuzz-build fuzz-run fuzz-merge fuzz-merge-run bench demo format format-check lint install uninstall clean
-include $(shell find $(B) -name '*.d' 2>/dev/null)
