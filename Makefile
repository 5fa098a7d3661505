# vpp-maglev. `make demo` runs the system, `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo
ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || uname -m)
BUILD_DIR := build/$(ARCH)
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo target)

# System packages the tests drive (real backends, namespaces, the shell,
# promtool from prometheus, a headless browser for the status page).
TEST_DEBS := nginx-light haproxy iproute2 iputils-ping tmux openssl python3-venv cmake g++ procps prometheus groff-base chromium
# ca-certificates: the config corpus names the system CA bundle, and the
# config check reads every CA file.
TEST_DEBS += ca-certificates
# passwd and util-linux: useradd and setpriv run clients as unprivileged
# users.
TEST_DEBS += passwd util-linux
# systemd: systemd-analyze checks the unit.
TEST_DEBS += systemd

.PHONY: all build build-deps test test-deps test-vpp fmt lint clean demo demo-stop demo-backend-stop demo-backend-start proto

all: build

# Installs those of the Debian packages $(1) that are missing (as root;
# `apt-get update` only when something is to be installed).
define install-missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

# grpcio-sys builds gRPC's C core with cmake and a C++ compiler, and links
# its TLS against Debian's OpenSSL.
BUILD_DEBS := cmake g++ make libssl-dev

build-deps:
	$(call install-missing,$(BUILD_DEBS))

build: build-deps
	$(CARGO) build --release --workspace --bins
	mkdir -p $(BUILD_DIR)
	cp $(TARGET_DIR)/release/maglevd $(TARGET_DIR)/release/maglevc $(TARGET_DIR)/release/vppsim $(BUILD_DIR)/

# Installs what the tests need when it is missing (Debian, as root).
test-deps:
	$(call install-missing,$(TEST_DEBS))

test: build-deps test-deps
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --no-fail-fast

# The VPP suite (tests/vpp_*.rs) against a real VPP installed under
# VPP_PREFIX (its bin/vpp, bin/vppctl and lb plugin; /usr for FD.io's
# packages) instead of vppsim, one VPP per test, unprivileged. The same
# tests run against vppsim in `make test`.
VPP_PREFIX ?=
VPP_TESTS := $(patsubst tests/%.rs,--test %,$(sort $(wildcard tests/vpp_*.rs)))
# The runtime libraries of VPP's own build (FD.io's packages depend on them).
VPP_DEBS := libunwind8 liblzma5

test-vpp: build-deps test-deps
	@if [ -z "$(VPP_PREFIX)" ] || [ ! -x "$(VPP_PREFIX)/bin/vpp" ]; then \
		echo "make test-vpp needs VPP_PREFIX=<dir> with bin/vpp (e.g. VPP_PREFIX=/usr)" >&2; exit 2; \
	fi
	$(call install-missing,$(VPP_DEBS))
	$(CARGO) build --workspace --bins
	VPP_PREFIX="$(abspath $(VPP_PREFIX))" $(CARGO) test $(VPP_TESTS) --no-fail-fast

# Regenerates the Rust of the gRPC API (proto/src/) from the .proto files.
# The generator is pure Rust (no protoc); the output is committed.
proto:
	cd proto/codegen && $(CARGO) run --release --quiet -- .. ../src
	rustfmt --edition 2021 proto/src/*.rs

# Benchmarks: timing targets live here, not in the tests. bench-probe
# compares maglevd's CPU per probe with HAProxy's on PROBE_BACKENDS
# backends (1000, 5000, 10000; PROBE_SECONDS is the measuring window;
# PROBE_DELAY_MS=N measures maglevd alone against backends answering after
# N ms);
# bench-maglevc times 200 one-shot maglevc commands.
BENCH_DEBS := haproxy nginx-light iproute2
PROBE_BACKENDS ?= 1000
PROBE_SECONDS ?= 20
.PHONY: bench bench-probe bench-maglevc bench-metrics
bench: bench-probe bench-maglevc bench-metrics

bench-metrics:
	$(CARGO) bench -p maglevd --bench metrics_scrape
	$(CARGO) bench -p maglevd --bench status_page
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench -p vpp-maglev-tests --bench vpp_sync

bench-probe: build-deps
	$(call install-missing,$(BENCH_DEBS))
	$(CARGO) build --release -p maglevd --bin maglevd
	PROBE_BACKENDS=$(PROBE_BACKENDS) PROBE_SECONDS=$(PROBE_SECONDS) $(CARGO) bench --bench probe_cost

bench-maglevc: build-deps
	$(CARGO) build --release -p maglevd --bin maglevd -p maglevc --bin maglevc
	$(CARGO) bench --bench maglevc_oneshot

fmt:
	$(CARGO) fmt --all

lint: build-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf build

# Fuzzes the VPP API decoders (every message type, the frame stream, the
# `show lb vips verbose` parser) for FUZZ_TIME seconds with cargo-fuzz.
# libFuzzer needs unstable compiler flags; RUSTC_BOOTSTRAP lets the stable
# toolchain accept them.
FUZZ_TIME ?= 60
.PHONY: fuzz-api
fuzz-api:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	cd vppapi/fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run api_decode -- -max_total_time=$(FUZZ_TIME)

# --- Debian packages -------------------------------------------------------
# `make pkg-deb` builds build/vpp-maglev_<version>~<commit>_<arch>.deb for
# each of PKG_ARCHES (a foreign one by cross-compiling); `make pkg-check`
# lints them, then installs, runs, upgrades and purges the native one (as
# root) and runs the foreign binaries under qemu-user.
.PHONY: pkg-deps pkg-deb pkg-check

PKG_ARCHES ?= amd64 arm64
PKG_DEBS := dpkg-dev lintian groff file systemd adduser cmake g++ libssl-dev \
	gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static

# Installs the packaging tools that are missing (Debian, as root).
pkg-deps:
	$(call install-missing,$(PKG_DEBS))
	@# The arm64 build links OpenSSL for arm64: Debian's multiarch package.
	@if echo " $(PKG_ARCHES) " | grep -q ' arm64 ' && ! dpkg --print-foreign-architectures | grep -qx arm64; then \
		dpkg --add-architecture arm64; \
	fi
	$(if $(filter arm64,$(PKG_ARCHES)),$(call install-missing,libssl-dev:arm64))
	@if echo " $(PKG_ARCHES) " | grep -q ' arm64 ' && command -v rustup >/dev/null; then \
		rustup target add aarch64-unknown-linux-gnu; \
	fi

# An architecture whose cross toolchain or Rust target is missing (status 3
# of build-deb.sh) is reported and skipped; any other failure stops.
pkg-deb: pkg-deps
	@skipped=""; for arch in $(PKG_ARCHES); do \
		CARGO="$(CARGO)" debian/build-deb.sh $$arch; rc=$$?; \
		if [ $$rc -eq 3 ]; then skipped="$$skipped $$arch"; \
		elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	done; \
	if [ -n "$$skipped" ]; then \
		echo "pkg-deb: WARNING: no package built for:$$skipped (the reason is printed above)" >&2; \
	fi

pkg-check: pkg-deps
	debian/check-package.sh

# Fuzzes the stats-segment parser (arbitrary bytes read as a segment, then
# the full read) for FUZZ_TIME seconds with cargo-fuzz, as fuzz-api does. A
# segment built by the writer seeds the corpus so inputs get past the header.
.PHONY: fuzz-stats
fuzz-stats:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	mkdir -p vppapi/fuzz/corpus/stats_parse
	cd vppapi/fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run stats_parse corpus/stats_parse seeds/stats_parse -- \
		-max_len=65536 -max_total_time=$(FUZZ_TIME)

# Runs the stats-segment parser and writer tests under Miri (undefined
# behaviour, out-of-bounds accesses, data races on the shared atomics).
# Needs the nightly toolchain with the miri and rust-src components; tests
# that use sockets, memfds or mmap, large segments or timed retry loops are
# skipped there (too slow or unsupported when interpreted).
.PHONY: miri
miri:
	rustup component add --toolchain nightly miri rust-src
	MIRIFLAGS=-Zmiri-disable-isolation $(CARGO) +nightly miri test -p vppapi --lib stats::
	MIRIFLAGS=-Zmiri-disable-isolation $(CARGO) +nightly miri test -p vppapi \
		--test stats_corruption

# The whole system locally: vppsim as VPP, four nginx backends, maglevd.
# Ctrl-C (or `make demo-stop` from another terminal) cleans everything up.
demo: build
	@dpkg -s nginx-light >/dev/null 2>&1 || dpkg -s nginx >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light)
	DEMO_BIN=$(CURDIR)/$(BUILD_DIR) tests/demo/demo.sh start

demo-stop:
	tests/demo/demo.sh stop

# `make demo-backend-stop N=2` stops the nginx of backend 2 (127.0.99.2).
demo-backend-stop:
	tests/demo/demo.sh backend-stop $(N)

demo-backend-start:
	tests/demo/demo.sh backend-start $(N)
