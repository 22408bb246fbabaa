# The interface to building, running and testing fulcrum. Each of `make run`
# and `make test` works as the first command on a fresh Debian 12 machine:
# both install what they need first, `make run` only what building and
# running fulcrum needs (`make deps`), `make test` the test peers too
# (`make test-deps`). The package lists are .ci/packages-*.txt, one per
# purpose, installed by .ci/install-packages (also used by .ci/run and
# docker/Dockerfile).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG ?= conf/fulcrum.yaml
INSTALL_PACKAGES := sh .ci/install-packages
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SOURCES = $(shell find src tests -name '*.cc' -o -name '*.h')

.PHONY: all build build-run install deb deb-test deps test-deps dev-deps run test test-asan fuzz bench bench-metrics bench-pick format format-check lint clean

all: build

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

# The proxy and the demo backends only, not the tests.
build-run:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS) --target fulcrum fulcrum-demo-backend

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, both man pages,
# the systemd unit, the logrotate file, the Prometheus alert rules, the
# Grafana dashboard and the config examples; and /etc/fulcrum/fulcrum.yaml
# (SYSCONFDIR) unless one is there already: an edited config is never
# overwritten. The unit goes where systemd looks for it: /lib/systemd/system
# for PREFIX=/usr, else PREFIX/lib/systemd/system; its paths follow PREFIX
# and SYSCONFDIR. Builds the binary first (build-run) when it is missing.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
DATADIR = $(PREFIX)/share/fulcrum
DOCDIR ?= $(PREFIX)/share/doc/fulcrum

install:
	@[ -x $(BUILD_DIR)/fulcrum ] || $(MAKE) --no-print-directory build-run
	install -D -m 755 $(BUILD_DIR)/fulcrum $(DESTDIR)$(PREFIX)/sbin/fulcrum
	install -D -m 644 man/fulcrum.8 $(DESTDIR)$(PREFIX)/share/man/man8/fulcrum.8
	install -D -m 644 man/fulcrum.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/fulcrum.yaml.5
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/sbin/fulcrum|$(PREFIX)/sbin/fulcrum|g' -e 's|/etc/fulcrum/|$(SYSCONFDIR)/fulcrum/|g' \
	  conf/examples/fulcrum.service > $(DESTDIR)$(UNITDIR)/fulcrum.service
	chmod 644 $(DESTDIR)$(UNITDIR)/fulcrum.service
	install -D -m 644 conf/logrotate/fulcrum $(DESTDIR)$(SYSCONFDIR)/logrotate.d/fulcrum
	install -D -m 644 conf/prometheus/alerts.yaml $(DESTDIR)$(DATADIR)/prometheus/alerts.yaml
	install -D -m 644 conf/prometheus/prometheus.yml $(DESTDIR)$(DATADIR)/prometheus/prometheus.yml
	install -D -m 644 conf/grafana/fulcrum.json $(DESTDIR)$(DATADIR)/grafana/fulcrum.json
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 644 conf/examples/*.yaml conf/examples/README.md $(DESTDIR)$(DOCDIR)/examples/
	install -d $(DESTDIR)$(DOCDIR)/examples/keepalived
	install -m 644 conf/examples/keepalived/* $(DESTDIR)$(DOCDIR)/examples/keepalived/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/fulcrum/fulcrum.yaml ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/fulcrum/fulcrum.yaml (the new example: $(DESTDIR)$(DOCDIR)/examples/fulcrum.yaml)"; \
	else \
	  echo "install -D -m 644 conf/etc/fulcrum.yaml $(DESTDIR)$(SYSCONFDIR)/fulcrum/fulcrum.yaml"; \
	  install -D -m 644 conf/etc/fulcrum.yaml $(DESTDIR)$(SYSCONFDIR)/fulcrum/fulcrum.yaml; \
	fi
	install -m 644 conf/etc/fulcrum.yaml $(DESTDIR)$(DOCDIR)/examples/fulcrum.yaml

# make deb: the Debian package, built by dpkg-buildpackage (debian/) from a
# copy of the sources in DEB_DIR, where the .deb lands; then lintian, which
# must report no error.
VERSION := $(shell sed -n 's/^project.fulcrum VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
DEB_DIR ?= build-deb
DEB_ARCH = $(shell dpkg --print-architecture)
DEB = $(DEB_DIR)/fulcrum_$(VERSION)_$(DEB_ARCH).deb

deb:
	@$(INSTALL_PACKAGES) build deb
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/fulcrum-$(VERSION)
	tar -c CMakeLists.txt Makefile src man conf debian | tar -x -C $(DEB_DIR)/fulcrum-$(VERSION)
	cd $(DEB_DIR)/fulcrum-$(VERSION) && DEB_BUILD_OPTIONS=parallel=$(JOBS) dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB)
	@echo "built $(DEB)"

# make deb-test: the package installed into a clean Debian 12 root (made
# once with debootstrap, then copied for each run): fulcrum -t on the
# shipped config, systemd-analyze verify of the unit, the user, the
# conffiles, logrotate, purge (tests/packaging/deb_test.sh). As root.
deb-test: deb
	@$(INSTALL_PACKAGES) deb-test
	bash tests/packaging/deb_test.sh $(DEB)

# apt-get only when something is missing, so these are quick once done.
deps:
	@$(INSTALL_PACKAGES) build run

test-deps:
	@$(INSTALL_PACKAGES) build test

dev-deps:
	@$(INSTALL_PACKAGES) dev

run: deps build-run
	@sh src/demo/run_demo.sh $(BUILD_DIR) $(CONFIG)

test: test-deps build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

test-asan: test-deps
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
	@$(INSTALL_PACKAGES) fuzz
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
bench: deps build-run
	@$(INSTALL_PACKAGES) bench
	BUILD_DIR=$(BUILD_DIR) bash bench/run.sh

# The price of /metrics: HTTP keep-alive at 64 connections against a fulcrum
# with the per-request metric updates compiled out (FULCRUM_REQUEST_METRICS=0),
# in the same run (bench/README.md); the table goes to bench/results/metrics/.
bench-metrics: deps build-run
	@$(INSTALL_PACKAGES) bench
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
	@$(INSTALL_PACKAGES) bench-pick
	mkdir -p $(BUILD_DIR)
	g++ -std=c++20 -O2 -Wall -Wextra -Isrc $(PICK_BENCH_SOURCES) -lbenchmark -lpthread -lxxhash \
	  -o $(BUILD_DIR)/pick_bench
	$(BUILD_DIR)/pick_bench

format: dev-deps
	clang-format -i $(SOURCES)

# CI: fails when a file differs from what `make format` would write.
format-check:
	@$(INSTALL_PACKAGES) dev
	clang-format --dry-run -Werror $(SOURCES)

lint: dev-deps build
	@# stderr only counts the warnings suppressed in system headers.
	clang-tidy -p $(BUILD_DIR) --quiet --extra-arg=-Wno-unknown-warning-option \
	  $(shell find src -name '*.cc') 2>/dev/null

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-nometrics
