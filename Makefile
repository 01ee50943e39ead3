# nhidb — two commands on a fresh machine:
#   make run    build and serve the console with demo data at http://127.0.0.1:3000 (SQLite)
#   make test   unit, store, integration and browser tests
# Both install what they need first, and skip what is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

export PATH := $(HOME)/.cargo/bin:$(PATH)
# Builds are cached outside the clone, so a fresh clone (and CI) reuses earlier work.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/nhidb/target
export LEPTOS_OUTPUT_NAME := nhidb

CARGO_LEPTOS_VERSION := 0.3.10
# The wasm-bindgen CLI must match the library version locked in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"/\1/p;}' Cargo.lock)
# binaryen 116 from crates.io; Debian's 108 silently breaks hydration of release bundles.
WASM_OPT_VERSION := 116

# cargo-leptos compiles debug builds with `--cfg erase_components`. Tests are compiled with the
# same flags so they share its artifacts (no second full build) and never replace the server
# binary with one whose HTML the browser bundle would not hydrate.
DEBUG_RUSTFLAGS := --cfg erase_components

BIN := $(CARGO_TARGET_DIR)/debug/nhidb
RELEASE_BIN := $(CARGO_TARGET_DIR)/release/nhidb
SITE_ROOT := $(CURDIR)/target/site
# Release bundles go to their own site root: a debug server must never serve a release bundle
# (or the reverse), whose markup would not match.
RELEASE_SITE_ROOT := $(CURDIR)/target/site-release
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export NHIDB_DATABASE_URL ?= sqlite://nhidb.sqlite
export NHIDB_ADDR ?= 127.0.0.1:3000

.PHONY: run test tools test-tools build release wasm-opt test-release test-rust test-browser api-fuzz bench chaos clean-db help

help:
	@echo "make run           build, migrate, seed demo data (first run) and serve http://$(NHIDB_ADDR)"
	@echo "make test          unit, store, integration and browser tests, release bundle included"
	@echo "                   (PostgreSQL too if NHIDB_TEST_POSTGRES_URL is set)"
	@echo "make test-rust     only the Rust tests;  make test-browser  only the debug browser tests"
	@echo "make release       optimised build (installs wasm-opt from crates.io once) into target/site-release"
	@echo "make test-release  browser test proving the release bundle hydrates"
	@echo "make api-fuzz      schemathesis against /api/v1/openapi.json of a running server (part of make test)"
	@echo "make bench         generate 1M identities / 5M assignments once, print discoverability latencies"
	@echo "                   (PostgreSQL too if NHIDB_BENCH_POSTGRES_URL is set)"
	@echo "make chaos         kill -9 loops (SQLite and PostgreSQL) and a database outage on a real server"
	@echo "make clean-db      delete the local SQLite database"

tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)$$" \
		|| cargo install cargo-leptos@$(CARGO_LEPTOS_VERSION) --locked
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$" \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)

build: tools
	cargo leptos build

run: build
	$(BIN) migrate
	$(BIN) seed-demo --if-empty --sources
	@echo "nhidb console: http://$(NHIDB_ADDR)"
	NHIDB_SITE_ROOT=$(SITE_ROOT) $(BIN) serve

test-tools:
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	@[ -f end2end/node_modules/.installed ] && [ end2end/node_modules/.installed -nt end2end/package-lock.json ] \
		|| { npm ci --prefix end2end --no-audit --no-fund && touch end2end/node_modules/.installed; }

test: test-tools test-rust test-browser api-fuzz test-release

test-rust: tools
	RUSTFLAGS="$(DEBUG_RUSTFLAGS)" cargo test --features ssr

test-browser: build test-tools
	NHIDB_BIN=$(BIN) NHIDB_SITE_ROOT=$(SITE_ROOT) npm --prefix end2end test

# schemathesis (PyPI) in its own virtualenv outside the clone, pinned.
SCHEMATHESIS_VERSION := 4.32.5
FUZZ_VENV := $(HOME)/.cache/nhidb/schemathesis
FUZZ_EXAMPLES ?= 80

api-fuzz: build
	@$(FUZZ_VENV)/bin/schemathesis --version 2>/dev/null | grep -q " $(SCHEMATHESIS_VERSION)$$" \
		|| { python3 -m venv $(FUZZ_VENV) && $(FUZZ_VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION); }
	NHIDB_BIN=$(BIN) NHIDB_SITE_ROOT=$(SITE_ROOT) SCHEMATHESIS=$(FUZZ_VENV)/bin/schemathesis FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) end2end/api-fuzz.sh

wasm-opt:
	@wasm-opt --version 2>/dev/null | grep -q "version $(WASM_OPT_VERSION)" || cargo install wasm-opt --locked
	@case "$$(command -v wasm-opt)" in "$(HOME)/.cargo/bin/wasm-opt") ;; \
		*) echo "wasm-opt on PATH is not ~/.cargo/bin/wasm-opt" >&2; exit 1;; esac

release: tools wasm-opt
	LEPTOS_SITE_ROOT=target/site-release cargo leptos build --release --precompress

test-release: release test-tools
	NHIDB_BIN=$(RELEASE_BIN) NHIDB_SITE_ROOT=$(RELEASE_SITE_ROOT) npm --prefix end2end run test-release

# The benchmark ledger (1M identities, 5M assignments, ~2 GB) is generated once per database and
# kept outside the clone; later runs only measure. PostgreSQL is measured too when
# NHIDB_BENCH_POSTGRES_URL names a database (created here if missing).
BENCH_DIR := $(HOME)/.cache/nhidb/bench
BENCH_ARGS ?=

# Cloudsplaining (PyPI), the peer the escalation figures are printed beside, in its own
# virtualenv outside the clone, pinned like the API fuzzer.
CLOUDSPLAINING_VERSION := 0.9.1
CLOUDSPLAINING_VENV := $(HOME)/.cache/nhidb/cloudsplaining
export NHIDB_CLOUDSPLAINING := $(CLOUDSPLAINING_VENV)/bin/cloudsplaining

bench: release
	@mkdir -p $(BENCH_DIR)
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	@$(CLOUDSPLAINING_VENV)/bin/pip show cloudsplaining 2>/dev/null | grep -qx "Version: $(CLOUDSPLAINING_VERSION)" \
		|| { python3 -m venv $(CLOUDSPLAINING_VENV) && $(CLOUDSPLAINING_VENV)/bin/pip install --quiet --disable-pip-version-check cloudsplaining==$(CLOUDSPLAINING_VERSION); }
	NHIDB_DATABASE_URL=sqlite://$(BENCH_DIR)/bench.sqlite NHIDB_LOG=warn,sqlx=error $(RELEASE_BIN) bench --site-root $(RELEASE_SITE_ROOT) $(BENCH_ARGS)
	@if [ -n "$${NHIDB_BENCH_POSTGRES_URL:-}" ]; then \
		db="$${NHIDB_BENCH_POSTGRES_URL##*/}"; admin="$${NHIDB_BENCH_POSTGRES_URL%/*}/postgres"; \
		psql -q "$$admin" -tAc "select 1 from pg_database where datname = '$$db'" | grep -q 1 \
			|| psql -q "$$admin" -c "create database \"$$db\""; \
		echo; NHIDB_DATABASE_URL="$$NHIDB_BENCH_POSTGRES_URL" NHIDB_LOG=warn,sqlx=error $(RELEASE_BIN) bench --site-root $(RELEASE_SITE_ROOT) $(BENCH_ARGS); \
	fi

# Faults on a real server (tests/chaos.rs): 50 kill -9 cycles per backend and a 10 s database
# outage, figures printed. Short versions of the same scenarios run in make test.
CHAOS_CYCLES ?= 50
CHAOS_OUTAGE_SECONDS ?= 10

chaos:
	NHIDB_CHAOS_CYCLES=$(CHAOS_CYCLES) NHIDB_CHAOS_OUTAGE_SECONDS=$(CHAOS_OUTAGE_SECONDS) \
		NHIDB_TEST_POSTGRES_URL=$${NHIDB_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres} NHIDB_REQUIRE_POSTGRES=1 \
		RUSTFLAGS="$(DEBUG_RUSTFLAGS)" cargo test --features ssr --test chaos -- --nocapture --test-threads 1

clean-db:
	rm -f nhidb.sqlite nhidb.sqlite-wal nhidb.sqlite-shm
