# Two entry points: `make site` builds the site, `make test` runs the tests.
# Each creates the virtual environment it needs on first use (Python 3.10+ and pip only).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where build-site and the tests look first for datasets (the tutorial's zip, for example).
export LITBLOG_DATA_DIR ?= $(abspath ../shared/datasets)

.PHONY: site test plan check bench page-quality clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Bytecode for litblog itself (an editable install has none), also where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/python -m compileall -q src/litblog
	touch $@

site: $(BIN)/.installed
	$(BIN)/build-site $(ARGS)

# The tests run in two processes (pytest-xdist): most start workers that import TensorFlow, and
# two side by side take the suite from about ten minutes to about six and a half on 2 cores.
# TEST_WORKERS=0 runs them in this process (what a debugger wants).
TEST_WORKERS ?= 2

test: $(BIN)/.installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(ARGS)

plan: $(BIN)/.installed
	$(BIN)/build-site --plan

# What the Pages workflow runs before deploying: results current, site/ what a build writes.
check: $(BIN)/.installed
	$(BIN)/build-site --check

# All five benchmarks, about 30 minutes on 2 cores (the first run also installs Jupyter Book into
# .litblog/benchmarks/jupyter-book-venv); the comparisons print PASS or MISS against their targets.
bench: $(BIN)/.installed
	$(BIN)/python benchmarks/noop_rebuild.py
	$(BIN)/python benchmarks/parallel_jobs.py
	$(BIN)/python benchmarks/vs_jupyter_book.py
	$(BIN)/python benchmarks/vs_plain_script.py
	$(BIN)/python benchmarks/scaling.py

# Lighthouse (phone and desktop) and axe-core on every page of the published site; needs jekyll,
# chromium, node and npm (the first run installs lighthouse and axe-core into .litblog/benchmarks/).
page-quality: $(BIN)/.installed
	$(BIN)/python benchmarks/page_quality.py

clean:
	rm -rf .litblog site/_site
