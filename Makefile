# Two commands set everything up on a fresh machine: `make run` and `make test`.
# Both install exactly the versions in requirements.lock (hashes checked); `make lock`
# regenerates it from pyproject.toml.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed
# pip-compile lives in its own venv, so it never mixes into the bot's.
LOCK_VENV  := .venv-lock
PIP_TOOLS  := pip-tools==7.6.2
LOCK_ARGS ?=

.PHONY: install run test bench lint console demo migrate lock clean

install: $(STAMP)

# Re-installs whenever the lock or pyproject.toml changes. setuptools (the build backend) is
# in the lock too, so the editable install builds without fetching anything unpinned.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	# A stale egg-info next to the code would hide the new entry points (sqlite+inline).
	rm -rf *.egg-info
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# `run` and `console` apply pending migrations themselves (quietly: nothing but the bot's
# own lines before the console's prompt).
run: $(STAMP)
	$(PY) -m bot run

console: $(STAMP)
	$(PY) -m bot console

# The scripted tour of the console, on a database of its own (data/tour, made afresh).
demo: $(STAMP)
	$(PY) -m bot console --tour

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

# Pins pyproject.toml's dependencies, its [dev] extra and the build backend, with the hashes
# of every file PyPI has for each version. Against plain PyPI: local pip settings (extra
# indexes, find-links) are ignored. Keeps current pins where they still fit; to move them:
# `make lock LOCK_ARGS=--upgrade` or `make lock LOCK_ARGS="-P aiogram"`.
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
		PIP_CONFIG_FILE=/dev/null $(LOCK_VENV)/bin/pip install --quiet "$(PIP_TOOLS)"; }
	env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT \
		PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
		$(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev \
		--build-deps-for editable --strip-extras --no-emit-index-url --no-emit-find-links \
		$(LOCK_ARGS) -o $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .ruff_cache
