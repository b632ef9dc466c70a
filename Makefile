PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz faults bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	CONFIG_SERVICE_ENV=development $(BIN)/config-service serve --host $${HOST:-127.0.0.1} --port $${PORT:-8080}

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
