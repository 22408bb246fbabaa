# The interface to building, running and testing fulcrum. Each of `make run`
# and `make test` works as the first command on a fresh Debian 12 machine:
# both install what they need first (`make deps`).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG ?= conf/fulcrum.yaml
PACKAGES := $(shell cat .ci/packages.txt)
DEV_PACKAGES := clang-format clang-tidy
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SOURCES = $(shell find src tests -name '*.cc' -o -name '*.h')

.PHONY: all build deps dev-deps run test test-asan fuzz bench bench-metrics bench-pick format format-check lint clean

all: build

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

# apt-get only when something is missing, so this is quick once done.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(PACKAGES))

dev-deps:
	$(call install_missing,$(DEV_PACKAGES))

run: deps build
	@sh src/demo/run_demo.sh $(BUILD_DIR) $(CONFIG)

test: deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=asan >/dev/null
	cmake --build $(ASAN_DIR) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(JOBS)

# libFuzzer with ASan + UBSan on the HTTP/1 head parser, head scanner, chunked scanner and
# the body forwarder's re-framing,
# for FUZZ_SECONDS, on a copy of the seed corpus (new inputs stay out of the
# tree). Any crash, leak or hang fails; the input is left in FUZZ_DIR.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SOURCES := tests/fuzz/parser_fuzz.cc src/http/codec/parser.cc src/http/codec/field_rules.cc \
  src/http/codec/chunked.cc src/http/codec/head_scanner.cc src/http/codec/body_forwarder.cc \
  src/http/codec/framing.cc src/http/codec/path_normalizer.cc

fuzz:
	$(call install_missing,clang libclang-rt-14-dev)
	mkdir -p $(FUZZ_DIR)/corpus
	clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc \
	  $(FUZZ_SOURCES) -levent_core -o $(FUZZ_DIR)/parser_fuzz
	cp tests/fuzz/corpus/* $(FUZZ_DIR)/corpus/
	ASAN_OPTIONS=detect_leaks=1 $(FUZZ_DIR)/parser_fuzz -max_total_time=$(FUZZ_SECONDS) \
	  -rss_limit_mb=2048 -timeout=10 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus

# The bench matrix: fulcrum vs HAProxy vs nginx (and "direct", no proxy), in
# one run: HTTP keep-alive and TCP at 16/64/256 connections, a new connection
# per request, 4 KiB and 64 KiB bodies, TLS (keep-alive, full and resumed
# handshakes), and RSS per idle connection; each proxy on one core with one
# thread. CPU per request, req/s, p99 and server connections opened per
# request, as medians of rounds. `make bench QUICK=1` takes a few minutes;
# BENCH_CELLS, BENCH_TARGETS, BENCH_ROUNDS, BENCH_SECONDS pick and size
# (bench/README.md). The table goes to bench/results/ (a dated file and latest.txt).
BENCH_PACKAGES := wrk haproxy nginx-light libnginx-mod-stream openssl python3 util-linux linux-perf

bench: deps build
	$(call install_missing,$(BENCH_PACKAGES))
	BUILD_DIR=$(BUILD_DIR) bash bench/run.sh

# The price of /metrics: HTTP keep-alive at 64 connections against a fulcrum
# with the per-request metric updates compiled out (FULCRUM_REQUEST_METRICS=0),
# in the same run (bench/README.md); the table goes to bench/results/metrics/.
bench-metrics: deps build
	$(call install_missing,$(BENCH_PACKAGES))
	cmake -S . -B build-nometrics -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
	  -DFULCRUM_REQUEST_METRICS=0 >/dev/null
	cmake --build build-nometrics -j$$(nproc) --target fulcrum
	BUILD_DIR=$(BUILD_DIR) BENCH_TARGETS="fulcrum fulcrum_nometrics haproxy" BENCH_CELLS=http-64 \
	  BENCH_IDLE=0 BENCH_RESULTS=bench/results/metrics bash bench/run.sh

# Google Benchmark of Strategy::pick() for every balancing strategy with 3, 30
# and 300 servers: ns per pick and allocations per pick (must be 0; the run
# fails otherwise). See bench/pick_bench.cc.
PICK_BENCH_SOURCES := bench/pick_bench.cc src/core/random.cc src/upstream/load.cc \
  $(addprefix src/balance/,round_robin.cc weighted_round_robin.cc least_conn.cc least_time.cc \
    weighted_random.cc p2c.cc ring_hash.cc maglev.cc)

bench-pick:
	$(call install_missing,libbenchmark-dev)
	mkdir -p $(BUILD_DIR)
	g++ -std=c++20 -O2 -Wall -Wextra -Isrc $(PICK_BENCH_SOURCES) -lbenchmark -lpthread -lxxhash \
	  -o $(BUILD_DIR)/pick_bench
	$(BUILD_DIR)/pick_bench

format: dev-deps
	clang-format -i $(SOURCES)

# CI: fails when a file differs from what `make format` would write.
format-check:
	$(call install_missing,clang-format)
	clang-format --dry-run -Werror $(SOURCES)

lint: dev-deps build
	@# stderr only counts the warnings suppressed in system headers.
	clang-tidy -p $(BUILD_DIR) --quiet --extra-arg=-Wno-unknown-warning-option \
	  $(shell find src -name '*.cc') 2>/dev/null

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-nometrics
