PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run lint test fuzz faults bench screenshots chromium clean

# The SDK first: the server depends on config-service-client by version (DESIGN §12.3).
$(STAMP): pyproject.toml clients/python/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./clients/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	@touch $(STAMP)

run: $(STAMP)
	CONFIG_SERVICE_ENV=development $(BIN)/config-service serve --host $${HOST:-127.0.0.1} --port $${PORT:-8080}

# The rules a machine checks (docs/ARCHITECTURE.md "Rules that are checked"): style and
# unused code (ruff), the layering contracts (import-linter), types (mypy, strict on pure modules).
lint: $(STAMP)
	$(BIN)/ruff check config_service clients/python tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The console's browser tests drive Debian's chromium (Playwright cannot download its own here).
chromium:
	@test -x /usr/bin/chromium || apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

# PNGs of the console's main pages into docs/ui/ (committed; shown in the README)
screenshots: $(STAMP) chromium
	$(BIN)/python -m tests.screenshots docs/ui

# schemathesis against a server of its own: ≥ 20,000 generated requests (tests/test_fuzz.py)
fuzz: $(STAMP)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-70} FUZZ_MIN_CASES=$${FUZZ_MIN_CASES:-20000} FUZZ_RANDOM=1 \
		$(BIN)/python -m pytest tests/test_fuzz.py $(PYTEST_ARGS)

# PostgreSQL restarts, outages and kill -9 of the service under a write load (tests/test_faults.py)
faults: $(STAMP)
	FAULT_ROUNDS=$${FAULT_ROUNDS:-3} FAULT_LOAD_SECONDS=$${FAULT_LOAD_SECONDS:-10} \
		$(BIN)/python -m pytest tests/test_faults.py -s $(PYTEST_ARGS)

# BENCH_SECONDS (per scenario, default 15) shortens it; docs/PERFORMANCE.md
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .config-service .pytest_cache
