# flowlake's front door. `make demo` and `make test` set up whatever is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JARS := .cache/jars
CONFIG ?= config/flowlake.yaml
DEMO_START ?= 2017-07-01
DEMO_END ?= 2017-07-07
DEMO_FLOWS_PER_DAY ?= 5000
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: setup demo test bench lint lock clean

setup: $(VENV)/.installed $(JARS)/.fetched

# The venv is rebuilt only when the lock or the package metadata change.
$(VENV)/.installed: infra/requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r infra/requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Spark's extra jars (Delta, S3A) from Maven Central, cached in .cache/jars.
$(JARS)/.fetched: infra/pom.xml
	mvn -q -f infra/pom.xml dependency:copy-dependencies
	touch $@

demo: setup
	@if [ ! -d data/raw ]; then \
	  $(BIN)/flowlake generate --config $(CONFIG) --start $(DEMO_START) --end $(DEMO_END) \
	    --flows-per-day $(DEMO_FLOWS_PER_DAY); fi
	$(BIN)/flowlake run --config $(CONFIG) --stages bronze,silver,gold

test: setup
	$(BIN)/python -m pytest -q

# Silver throughput beside DuckDB on the same raw files; BENCH_ARGS="--flows 2000000 --days 20" for a shorter run.
BENCH_ARGS ?= --flows 20000000 --days 30
bench: setup
	$(BIN)/python bench/silver_throughput.py $(BENCH_ARGS)

lint: setup
	$(BIN)/python -m pyflakes jobs tests

# Re-resolve infra/requirements.in into the exact lock (run after changing a pin).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -r infra/requirements.in
	(echo "# Exact versions of every package flowlake's venv holds: make setup installs this file."; \
	 echo "# Regenerate after changing infra/requirements.in: make lock"; \
	 .lock-venv/bin/pip freeze) > infra/requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf data .run spark-warehouse metastore_db derby.log
