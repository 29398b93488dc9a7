# coffre: build, run, test, benchmark.
#
#   make run     install the extractors if missing, build in release mode and serve on ./coffre-data
#   make test    formatting, lints and every test (what CI runs)
#   make bench   ingest, hashing, search, index rounds, relevance, retention, export, scale, capture and copies benchmarks, written to BENCHMARKS.md
#   make fuzz    every fuzz target for FUZZ_SECONDS each, from its committed seed corpus
#
# `deps` installs what the tests and benchmarks need beyond the Rust
# toolchain, from Debian's packages, so that both work on a fresh machine.

CARGO ?= cargo
DATA ?= ./coffre-data
LISTEN ?= 127.0.0.1:8080

# Commands the server calls to read text, to check the archives' SEDA
# answers and the signatures of PES bordereaux (what `make run` needs), and
# the Debian package of each.
RUN_TOOLS := pdftotext:poppler-utils tesseract:tesseract-ocr xmllint:libxml2-utils xmlsec1:xmlsec1 ocrmypdf:ocrmypdf

# Commands the tests and benchmarks call besides: Debian's chromium and its
# WebDriver for the browser tests, npm for axe-core, socat to put TLS in
# front of the test time-stamping authority.
DEBIAN_TOOLS := kill:procps sha256sum:coreutils timeout:coreutils prlimit:util-linux openssl:openssl \
                runuser:util-linux python3:python3 socat:socat \
                chromium:chromium chromedriver:chromium-driver npm:npm

# French text nobody on the project wrote, from Debian's packages: the
# manuals the corpus test deposits and looks up (tests/it/corpus.rs).
# OpenLDAP's slapd (with slapadd), which the directory sign-in tests start
# on a loopback port (tests/it/directory.rs); RUNLEVEL=1 keeps Debian's
# scripts from starting the packages' own services (slapd on port 389).
# Dovecot's IMAP server, which the mailbox tests start on a loopback port
# with an account of their own (tests/it/mailbox.rs); likewise not started
# as a service.
DEBIAN_DATA := /usr/share/doc/aptitude/html/fr:aptitude-doc-fr /usr/share/doc/debian/FAQ/fr:debian-faq-fr \
               /bin/gzip:gzip /usr/sbin/slapd:slapd /usr/lib/dovecot/imap-login:dovecot-imapd

# The Library of Congress BagIt validator, schemathesis and aiosmtpd, from
# PyPI, in a virtual environment of their own (the tests run the first on exported
# packages, the second against a served archive: tests/it/schemathesis.rs).
PYTOOLS := target/pytools
BAGIT_PY := $(abspath $(PYTOOLS))/bin/bagit.py
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS := $(abspath $(PYTOOLS))/bin/st
# The SMTP server the work lists' daily summaries are mailed to in the
# tests (tests/it/mail.rs): aiosmtpd, keeping what it receives in a Maildir.
AIOSMTPD_VERSION := 1.4.6
AIOSMTPD := $(abspath $(PYTOOLS))/bin/aiosmtpd

# axe-core, from npm, which the browser tests inject into each page to
# check it against WCAG 2.1 AA (tests/it/browser.rs reads it from here).
UITOOLS := target/ui-tools
AXE_VERSION := 4.14.1

# Coverage-guided fuzzing of every parser of outside input (fuzz/, one
# target per function of src/fuzzing.rs) with cargo-fuzz and libFuzzer, on
# the stable toolchain and so without a sanitizer (Rust's own checks,
# debug assertions and overflow checks on, catch what a sanitizer would
# in safe code). Each target starts from its committed seed corpus
# (fuzz/corpus/<target>); what it finds new is kept in target/fuzz-corpus,
# a crash in fuzz/artifacts/<target>, and becomes a regression test in
# src/fuzzing.rs.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := plan naming_template search_query seda_manifest seda_reply bagit_tag_files invoice pes_flow lifecycle_message extraction journal_line
CARGO_FUZZ := target/fuzz-tools/bin/cargo-fuzz
CARGO_FUZZ_VERSION := 0.13.2

# Garage, the S3-compatible object store that collectivités and small hosts
# run themselves: the copies tests start one on loopback (tests/it/buckets.rs)
# and the copies benchmark writes to one. Built from crates.io once per
# machine and kept outside the clone (about 10 minutes on 2 cores, at
# opt-level 1: a test server need not be fast); only its LMDB metadata
# engine is built.
GARAGE_VERSION := 2.5.0
GARAGE_ROOT ?= $(HOME)/.cache/coffre/garage-$(GARAGE_VERSION)
GARAGE := $(GARAGE_ROOT)/bin/garage

.PHONY: all build run test bench fuzz deps rundeps pytools uitools garage fmt clippy clean

all: build

deps: rundeps
	@missing=""; \
	for pair in $(DEBIAN_TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	for pair in $(DEBIAN_DATA); do \
	  path=$${pair%%:*}; pkg=$${pair##*:}; \
	  [ -e $$path ] || missing="$$missing $$pkg"; \
	done; \
	fc-list 2>/dev/null | grep -qi "nimbus sans" || missing="$$missing fonts-urw-base35"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@python3 -c "import ensurepip, venv" >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv)
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

build:
	$(CARGO) build --release

# The extractors alone, for `make run` (no browser, no validators).
rundeps:
	@missing=""; \
	for pair in $(RUN_TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	[ -f /usr/share/tesseract-ocr/*/tessdata/fra.traineddata ] || missing="$$missing tesseract-ocr-fra"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# `cargo run` finds the binary wherever cargo builds it (CARGO_TARGET_DIR).
run: rundeps
	$(CARGO) run --release -- --data $(DATA) serve --listen $(LISTEN)

fmt:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

pytools: deps
	@[ -x $(BAGIT_PY) ] || (python3 -m venv $(PYTOOLS) && $(PYTOOLS)/bin/pip install --quiet bagit)
	@$(PYTOOLS)/bin/pip show schemathesis 2>/dev/null | grep -qx 'Version: $(SCHEMATHESIS_VERSION)' || \
	  $(PYTOOLS)/bin/pip install --quiet schemathesis==$(SCHEMATHESIS_VERSION)
	@$(PYTOOLS)/bin/pip show aiosmtpd 2>/dev/null | grep -qx 'Version: $(AIOSMTPD_VERSION)' || \
	  $(PYTOOLS)/bin/pip install --quiet aiosmtpd==$(AIOSMTPD_VERSION)

uitools: deps
	@grep -qs '"version": "$(AXE_VERSION)"' $(UITOOLS)/node_modules/axe-core/package.json || \
	  npm install --prefix $(UITOOLS) --no-audit --no-fund --silent axe-core@$(AXE_VERSION)

garage:
	@[ -x $(GARAGE) ] || CARGO_PROFILE_RELEASE_OPT_LEVEL=1 $(CARGO) install garage --locked --version $(GARAGE_VERSION) \
	  --root $(GARAGE_ROOT) --no-default-features --features bundled-libs,lmdb

test: deps pytools uitools garage fmt clippy
	BAGIT_PY=$(BAGIT_PY) SCHEMATHESIS=$(SCHEMATHESIS) AIOSMTPD=$(AIOSMTPD) GARAGE=$(GARAGE) $(CARGO) test

# PostgreSQL is the baseline of the search, relevance and retention
# benchmarks, which start their own cluster on a Unix socket; SQLite's FTS5
# (the `sqlite3` command) is the other baseline of relevance. Search over
# HTTP fills its archives through a server run under `eatmydata` (filling
# is not what it measures) and keeps them between runs when
# COFFRE_BENCH_HTTP_DATA names a folder.
bench: deps garage
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)
	@command -v sqlite3 >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3)
	@command -v eatmydata >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq eatmydata)
	$(CARGO) bench --bench ingest
	$(CARGO) bench --bench search
	$(CARGO) bench --bench index_rounds
	$(CARGO) bench --bench search_http
	$(CARGO) bench --bench pages
	$(CARGO) bench --bench relevance
	$(CARGO) bench --bench retention
	$(CARGO) bench --bench export
	$(CARGO) bench --bench scale
	$(CARGO) bench --bench capture
	$(CARGO) bench --bench indicators
	GARAGE=$(GARAGE) $(CARGO) bench --bench copies

fuzz:
	@$(CARGO_FUZZ) --version 2>/dev/null | grep -q '$(CARGO_FUZZ_VERSION)' || \
	  $(CARGO) install --locked --root target/fuzz-tools cargo-fuzz@$(CARGO_FUZZ_VERSION)
	@for t in $(FUZZ_TARGETS); do \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  mkdir -p target/fuzz-corpus/$$t; \
	  $(CARGO_FUZZ) fuzz run --fuzz-dir fuzz --sanitizer none $$t target/fuzz-corpus/$$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 || exit 1; \
	done

clean:
	$(CARGO) clean
