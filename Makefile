# Two commands set everything up on a fresh machine: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint console migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot migrate
	$(PY) -m bot run

console: $(STAMP)
	$(PY) -m bot migrate
	$(PY) -m bot console

migrate: $(STAMP)
	$(PY) -m bot migrate

lint: $(STAMP)
	$(PY) -m ruff check .

# With TEST_POSTGRES_URL set (.ci/run sets it) the suite runs a second time on PostgreSQL;
# a TEST_POSTGRES_URL (or TEST_REDIS_URL) that is set but unreachable fails the run.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "== the same suite on PostgreSQL ($$TEST_POSTGRES_URL) =="; \
		TEST_DB=postgres $(PY) -m pytest -m "not e2e"; \
	else \
		echo "SKIPPED: the suite on PostgreSQL (TEST_POSTGRES_URL is not set)"; \
	fi

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
