# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench compat clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/roman-asn demo

# the tests in as many processes as there are cores (TEST_WORKERS=0: one process), each
# worker taking the next test when it is free: a few tests of 10-20 s would otherwise end
# a run on one core
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# our files in romancal itself: romancal in a virtual environment of its own (never a dependency);
# ROMANCAL_PYTHON is absolute: the tests run romancal's tools from temporary folders
ROMANCAL_VENV ?= .romancal-venv
compat: $(STAMP)
	test -x $(ROMANCAL_VENV)/bin/python || $(PYTHON) -m venv $(ROMANCAL_VENV)
	$(ROMANCAL_VENV)/bin/python -m pip install --quiet romancal
	ROMANCAL_PYTHON=$(abspath $(ROMANCAL_VENV))/bin/python $(BIN)/python -m pytest -q -m 'not slow' \
		tests/test_romancal_compat.py tests/test_tools_from_list.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
