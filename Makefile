# govperf — the commands a newcomer needs. A fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: migrate, seed a demo city and start all four services and the gateway
run: $(STAMP)
	$(BIN)/govperf up --demo

## test: the whole suite, on SQLite and on PostgreSQL (TEST_DATABASE_URL), one worker per
## core (each with its own databases); a test file runs whole on one worker
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

## fuzz: schemathesis with many more examples and random seeds (GOVPERF_FUZZ_EXAMPLES=N)
GOVPERF_FUZZ_EXAMPLES ?= 100
fuzz: $(STAMP)
	GOVPERF_FUZZ_EXAMPLES=$(GOVPERF_FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/contract \
		-k holds_for_generated -p no:cacheprovider -o timeout=0

## lint: ruff lint and format check
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: benchmarks against real processes, with the machine and baselines printed
bench: $(STAMP)
	$(BIN)/python bench/request_path.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/evaluation.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/disclosure.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
