# flowlake's front door. `make demo` and `make test` set up whatever is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JARS := .cache/jars
JVM_ARCHIVE := .cache/jvm/classes.jsa
HADOOP_JAR := $(JARS)/flowlake-hadoop.jar
CONFIG ?= config/flowlake.yaml
# `make demo`: six months of dumps through Airflow; `make demo-local`: one week, no Airflow.
DEMO_START ?= 2017-07-01
DEMO_END ?= 2017-12-31
DEMO_FLOWS_PER_DAY ?= 1000
LOCAL_DEMO_END ?= 2017-07-07
LOCAL_DEMO_FLOWS_PER_DAY ?= 5000
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: setup nfdump browser compose-tools demo demo-local test test-dags test-reproduce faults bench lint config-docs lock clean airflow airflow-stop backfill sql thrift thrift-stop ldap \
  cluster cluster-stop

setup: $(VENV)/.installed $(JARS)/.fetched $(HADOOP_JAR) $(JVM_ARCHIVE)
	@$(MAKE) --no-print-directory nfdump || echo "make setup: going on without nfdump; every format but nfcapd files can be read" >&2

# The venv is rebuilt only when the lock or the package metadata change: every package of dev.txt,
# each checked against its hashes, then flowlake itself (its dependencies are all in the lock).
$(VENV)/.installed: infra/locks/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r infra/locks/dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Spark's extra jars (Delta, S3A) from Maven Central, cached in .cache/jars.
$(JARS)/.fetched: infra/pom.xml
	mvn -q -f infra/pom.xml dependency:copy-dependencies
	touch $@

# flowlake's file:// file system (infra/hadoop), compiled against the Hadoop that pyspark ships:
# permissions set from the JVM, not by a `chmod` process per file written.
HADOOP_SOURCES := $(wildcard infra/hadoop/flowlake/hadoop/*.java)
$(HADOOP_JAR): $(HADOOP_SOURCES) $(VENV)/.installed $(JARS)/.fetched
	@command -v javac >/dev/null || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jdk-headless; \
	  else echo "javac is missing and cannot be installed here (apt-get as root): run" \
	    "'sudo apt-get install openjdk-17-jdk-headless' (Maven needs a JDK too)" >&2; exit 1; fi
	rm -rf .cache/hadoop-classes
	javac --release 17 -d .cache/hadoop-classes \
	  -cp "$$($(BIN)/python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')/jars/*" $(HADOOP_SOURCES)
	jar cf $@ -C .cache/hadoop-classes .

# The classes a small `flowlake run` loads, recorded once into a class-data archive that every
# local Spark session's JVM maps instead of loading them (flowlake.jvm_archive): 3.5 s a process.
$(JVM_ARCHIVE): $(VENV)/.installed $(JARS)/.fetched $(HADOOP_JAR)
	$(BIN)/python -m flowlake.jvm_archive

# The whole product (infra/demo.sh): six months of dumps into the local S3 server, then ingest and
# reports through Airflow. Airflow stays up for the UI; `make airflow-stop` stops it.
demo: airflow
	@infra/demo.sh $(DEMO_START) $(DEMO_END) $(DEMO_FLOWS_PER_DAY)

# A week of dumps on local disk through every layer and the reports in one `flowlake run`, no Airflow.
demo-local: setup
	@if [ ! -d data/raw ]; then \
	  $(BIN)/flowlake generate --config $(CONFIG) --start $(DEMO_START) --end $(LOCAL_DEMO_END) \
	    --flows-per-day $(LOCAL_DEMO_FLOWS_PER_DAY); fi
	$(BIN)/flowlake run --config $(CONFIG) --stages bronze,silver,gold,reports

# Local Airflow (infra/airflow.sh) and the local S3 and SMTP servers its connections point at.
# The connections are AIRFLOW_CONN_* variables, which Airflow reads from the environment; set
# your own before `make airflow` to point at a real store, mail server or Spark cluster.
FLOWLAKE_S3_PORT ?= 5055
FLOWLAKE_SMTP_PORT ?= 8025
export FLOWLAKE_AIRFLOW_PORT ?= 8080
# The config the DAGs run with unless a run names another: raw dumps in the local S3 server.
export FLOWLAKE_CONFIG ?= $(CURDIR)/config/airflow.yaml
export FLOWLAKE_S3_PORT FLOWLAKE_SMTP_PORT
export AIRFLOW_CONN_SPARK_DEFAULT ?= {"conn_type": "spark", "host": "local[*]"}
export AIRFLOW_CONN_FLOWLAKE_S3 ?= {"conn_type": "aws", "login": "local", "password": "local", \
  "extra": {"endpoint_url": "http://127.0.0.1:$(FLOWLAKE_S3_PORT)", "region_name": "us-east-1"}}
export AIRFLOW_CONN_SMTP_DEFAULT ?= {"conn_type": "smtp", "host": "127.0.0.1", "port": $(FLOWLAKE_SMTP_PORT), \
  "extra": {"disable_tls": true, "disable_ssl": true, "from_email": "flowlake@localhost"}}

airflow: setup
	@infra/s3-server.sh start >/dev/null
	@infra/smtp-server.sh start >/dev/null
	@infra/airflow.sh start

airflow-stop:
	@infra/airflow.sh stop
	@infra/smtp-server.sh stop
	@infra/s3-server.sh stop

# Every landed dump from FROM to TO through bronze, silver and gold in one flowlake_ingest run,
# then the reports due in that window (README, "Airflow"). Needs `make airflow`.
backfill:
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=2017-07-01 TO=2017-12-31" >&2; exit 2; }
	@infra/airflow.sh backfill $(FROM) $(TO)

# SQL on the catalog (README, "SQL catalog"): spark-sql, or beeline while the Thrift server runs.
sql: setup
	$(BIN)/flowlake sql --config $(CONFIG)

# The Spark Thrift server (JDBC) on 127.0.0.1:10000 (catalog.thrift_port), stopped by its recorded PID,
# with the local LDAP server (infra/ldap.sh) it checks logins against: user analyst, password
# $FLOWLAKE_SQL_PASSWORD.
thrift: setup ldap
	@infra/ldap.sh start >/dev/null
	$(BIN)/flowlake thrift start --config $(CONFIG)

thrift-stop:
	$(BIN)/flowlake thrift stop --config $(CONFIG)
	@infra/ldap.sh stop

# Debian's slapd and the LDAP tools: the Thrift server's logins are checked against it (apt needs
# root, as on CI).
ldap:
	@PATH="$$PATH:/usr/sbin" command -v slapd >/dev/null && command -v ldapwhoami >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slapd ldap-utils)

# Debian's nfdump 1.7.1 (nfdump and nfcapd): bronze converts nfcapd files with it on every Spark
# node (docs/DEPLOY.md), and the tests' collector is its nfcapd. apt needs root, as on CI.
nfdump:
	@command -v nfdump >/dev/null && command -v nfcapd >/dev/null || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nfdump; \
	  else echo "nfdump is missing and cannot be installed here (apt-get as root): run" \
	    "'sudo apt-get install nfdump', or set bronze.nfdump in the config to an nfdump 1.7 binary" >&2; exit 1; fi

# Debian's Chromium and ChromeDriver for the reports' browser test (apt needs root, as on CI).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver)

# Debian's docker-compose (1.29), which renders infra/docker-compose.yml without a Docker engine,
# for the test that checks it (apt needs root, as on CI).
compose-tools:
	@command -v docker-compose >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose)

# A Spark standalone master and one worker on 127.0.0.1 (infra/spark-cluster.sh; ports from
# FLOWLAKE_SPARK_*_PORT), stopped by their recorded PIDs. Jobs reach it with spark.master in the
# config, Airflow with its spark_default connection (docs/DEPLOY.md).
cluster: setup
	@infra/spark-cluster.sh start

cluster-stop:
	@infra/spark-cluster.sh stop

# Every test but the full fault-injection suite (make faults), the longer DAG runs (make
# test-dags), the whole chain on a cluster (make test-cluster) and the full reproduction of a
# delivered report (make test-reproduce): their reduced forms run here. The slowest are listed
# at the end.
test: setup nfdump browser compose-tools ldap
	$(BIN)/python -m pytest -q -m "not faults and not dag_runs and not cluster_chain and not reproduce_full" --durations=30

# Bronze, silver and gold on a Spark standalone cluster against local mode (make test runs
# bronze only): about ten minutes on 2 cores.
test-cluster: setup
	$(BIN)/python -m pytest -q -m cluster_chain tests/integration/test_standalone_cluster.py

# A trend report delivered, the tables changed (a new day, a catalog change), maintenance run,
# the report reproduced and compared file by file; then, the delivery past
# maintenance.reproducible_days, maintenance again and the reproduction refused (issue 21.1).
test-reproduce: setup
	$(BIN)/python -m pytest -q -m reproduce_full tests/integration/test_reports.py

# Every DAG test: ingest, reports and maintenance end to end with dag.test() against the local S3
# and SMTP servers, a re-run of the day, and the secret-leak scan of everything they produced
# (29 minutes on 2 cores while another test run shared them).
test-dags: setup
	$(BIN)/python -m pytest -q tests/dags

# The fault-injection suite (RELIABILITY.md): kills, late and repeated deliveries, a store going
# away, two runs at once; FLOWLAKE_FAULT_TRIALS trials per kill scenario (`make test` leaves it out).
# Each trial's figures go to .run/faults/results.jsonl; the table RELIABILITY.md shows is printed last.
FLOWLAKE_FAULT_TRIALS ?= 3
# Bad input at scale: hypothesis examples per format on the readers (a thirtieth of that
# through the bronze job on Spark); `make test` runs 30 on the readers.
FLOWLAKE_HYPOTHESIS_EXAMPLES ?= 300
faults: setup
	rm -f .run/faults/results.jsonl
	FLOWLAKE_FAULT_TRIALS=$(FLOWLAKE_FAULT_TRIALS) $(BIN)/python -m pytest -q tests/faults
	FLOWLAKE_HYPOTHESIS_EXAMPLES=$(FLOWLAKE_HYPOTHESIS_EXAMPLES) $(BIN)/python -m pytest -q \
	  tests/unit/test_readers_bad_input.py tests/integration/test_bad_input.py
	$(BIN)/python -m tests.faults.summary

# The benchmark (bench/raw_to_gold.py, BENCHMARKS.md), both shapes of issue 18 in one run, each beside
# DuckDB's parse and DuckDB's raw -> gold script (bench/duckdb_pipeline.py) on the same raw files, every
# figure beside its target: six months of small daily objects (full run to the reports, no-op run, one
# new day, bronze of five objects, DuckDB's gold checked against flowlake's), then 20 million flows
# (bronze and raw -> gold against DuckDB, one new day, peak memory at 1x and 10x data).
# BENCH_ARGS="--flows 2000000 --days 20" for a reduced big shape, "--hundred-million" for 100 million
# flows, "--skip-six-months" or "--skip-big" to leave a shape out.
BENCH_ARGS ?= --flows 20000000 --days 30
bench: setup
	$(BIN)/python bench/raw_to_gold.py $(BENCH_ARGS)

lint: setup
	$(BIN)/python -m pyflakes jobs tests bench

# docs/config.md from the config schema (jobs/flowlake/config.py); a unit test fails when it is stale.
config-docs: setup
	$(BIN)/python -m flowlake.config_reference > docs/config.md

# infra/locks/ from pyproject.toml's dependencies, with hashes, one lock per use: runtime.txt (the
# jobs), production.txt (runtime and Airflow: infra/Dockerfile), dev.txt (all extras: make setup).
# Versions already in a lock are kept unless pyproject.toml asks otherwise; UPGRADE=1 re-resolves.
LOCKS := runtime: production:--extra=airflow dev:--all-extras
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install -q uv==0.13.9
	for lock in $(LOCKS); do \
	  .lock-venv/bin/uv pip compile pyproject.toml $${lock#*:} --generate-hashes --no-annotate \
	    --python-version 3.11.7 --python-platform x86_64-unknown-linux-gnu $(if $(UPGRADE),--upgrade) \
	    --custom-compile-command "make lock" --quiet -o infra/locks/$${lock%%:*}.txt || exit 1; \
	done
	rm -rf .lock-venv

clean:
	rm -rf data .run spark-warehouse metastore_db derby.log
