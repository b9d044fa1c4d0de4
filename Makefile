# driftline: the two commands are `make demo` and `make test`; each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUM    := $(shell cat constraints.txt pyproject.toml | cksum | cut -d' ' -f1)
# .[dev]: the suite, the linters and the demo's data (make setup, make test)
STAMP  := $(VENV)/.installed-$(SUM)
# .[demo]: the command and the flights demo's data, no more (make demo; [dev] holds it)
DEMO_STAMP := $(VENV)/.installed-demo-$(SUM)
# The core's per-record path compiled in place (scripts/compile_core.py): rebuilt when a
# core source changes; without a C compiler the core stays pure Python.
COMPILED := pipeline/core/compiled.json
CORE_SOURCES := $(wildcard pipeline/core/*.py pipeline/core/*/*.py)

.PHONY: compose-env setup system-deps browser-deps kafka-jars registry-jars promtool demo test test-unit test-pure lint bench soak lock clean compile clean-compiled

setup: $(STAMP) $(COMPILED) system-deps kafka-jars registry-jars

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
# the bench's Quix Streams baseline: its caps exclude driftline's pins (pyproject's [bench])
	$(BIN)/python -m pip install -q -c constraints.txt --no-deps quixstreams
	@rm -f $(VENV)/.installed-* && touch $@

$(DEMO_STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if test -f $(STAMP); then :; else \
	  $(BIN)/python -m pip install -q --upgrade "pip>=24" && \
	  $(BIN)/python -m pip install -q -c constraints.txt -e ".[demo]"; fi
	@touch $@

system-deps:
	@scripts/install-system-deps.sh

# Chromium for the dashboard's browser test: `make test` only (it skips without).
browser-deps:
	@scripts/install-browser-deps.sh

kafka-jars: $(STAMP)
	@$(BIN)/driftline stack fetch

# The local schema registry (`driftline stack up --registry`, its tests): Apicurio built with
# Maven into the same cache, once (~3 min, ~180 MB the first time; nothing after).
registry-jars: $(STAMP)
	@$(BIN)/driftline stack fetch --registry

# Prometheus's promtool (tests/integration/ops: the alert rules and a scrape checked), built
# with Go into the same cache, once (~10 min, ~1.8 GB of module cache the first time;
# nothing after). Without Go it says so, and those tests skip.
promtool:
	@scripts/ensure-promtool.sh >/dev/null

# The first run fetches Kafka (driftline stack fetch) itself.
demo: $(DEMO_STAMP) system-deps
	$(BIN)/driftline demo

test: setup browser-deps promtool
	$(BIN)/python -m pytest

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration and not e2e"

# The pure-Python fallback (CI, after `make test` on the compiled core): the unit tests (the
# compiled modules' doctests with them), River equivalence and recovery after SIGKILL, on the
# .py files; the core is compiled again after.
test-pure: setup
	$(BIN)/python scripts/compile_core.py --clean
	$(BIN)/python -m pytest -m "not integration and not e2e" && \
	  $(BIN)/python -m pytest -q tests/integration/consumers/test_river_equivalence.py \
	    tests/integration/consumers/test_recovery.py; \
	  status=$$?; $(BIN)/python scripts/compile_core.py --optional; exit $$status

# The worker against its baselines (throughput, latency, start-up, processes, memory),
# then what each default costs on the task alone (docs/performance.md).
bench: setup
	$(BIN)/python -m benchmarks.throughput
	$(BIN)/python -m benchmarks.defaults_cost

# Thirty minutes of seeded faults on three brokers of its own, then the accounting
# (tests/soak); its short form runs in `make test` (tests/integration/test_soak.py).
soak: setup
	$(BIN)/python -m tests.soak --minutes 30 --out soak.json

# The per-record path of the pure core compiled with Cython, in place: each listed module's
# extension beside its .py (scripts/compile_core.py says which and why; about 30 s on two
# cores). `make clean-compiled` removes them: the .py files are the pure-Python fallback.
compile: $(STAMP)
	$(BIN)/python scripts/compile_core.py

$(COMPILED): $(STAMP) $(CORE_SOURCES) scripts/compile_core.py
	@$(BIN)/python scripts/compile_core.py --optional

clean-compiled:
	$(PYTHON) scripts/compile_core.py --clean

# 1,000,000 generated payloads through the codec, the quality rules and the task's batch
# step (atheris if installed, else seeded random bytes): it fails on any exception that
# escapes or any record not accounted for. tests/fuzz/test_fuzz.py runs 20,000 in `make test`.
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run --payloads 1000000

# ruff (with the house rule's 60 statements a function), mypy, the layer contracts in
# pyproject.toml (import-linter; no cache directory left in the work tree), and the house
# rule's 400 lines a module and 300 a class (tests/unit/test_house_rule.py)
lint: $(STAMP)
	$(BIN)/ruff check pipeline producers consumers tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_house_rule.py

# Re-pin every package (run after changing dependencies in pyproject.toml).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q -e ".[dev]"
	.lock-venv/bin/python -m pip install -q --no-deps "quixstreams>=3.28,<4"
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt
	rm -rf .lock-venv

clean:
	$(PYTHON) scripts/compile_core.py --clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache

# Secrets of docker-compose.yml (Redis password, checkpoint key), random, mode 600.
compose-env:
	@$(PYTHON) scripts/compose-env.py
