#!/usr/bin/env bash
# Start or stop a local Airflow for flowlake: api-server, scheduler, dag-processor and triggerer
# with SQLite and the LocalExecutor, everything on 127.0.0.1, the DAGs from dags/.
#   infra/airflow.sh start   # prints the UI address and the login; idempotent
#   infra/airflow.sh stop    # stops every process start started, and frees the port
#   infra/airflow.sh backfill FROM TO   # FROM..TO through ingest and reports, waited for
#   infra/airflow.sh trigger DAG_ID     # one run of a DAG, waited for
#   infra/airflow.sh env     # prints the exports, for running `airflow ...` against it by hand
# Port: FLOWLAKE_AIRFLOW_PORT (default 8080). State: AIRFLOW_HOME (default .run/airflow): the
# SQLite database, logs, the admin password (passwords.json), the key mailed reports pseudonymise
# with unless FLOWLAKE_PSEUDONYM_KEY is set (pseudonym.key), and airflow.pid, airflow.log.
#
# Why not `airflow standalone`: it runs these same four components, but its scheduler and
# triggerer also start log servers bound to every interface (no host setting), and SIGTERM to its
# parent alone leaves the scheduler and API server running and holding their ports. So this
# script starts the four components itself, log servers off (the API server reads the task logs
# from local disk), in a session of their own (setsid), and `stop` signals every process of that
# session: the components, the LocalExecutor's task processes and the spark-submit JVMs they run.
# Connections (spark_default, flowlake_s3, smtp_default) come from AIRFLOW_CONN_* variables,
# which the Makefile sets for local use.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port="${FLOWLAKE_AIRFLOW_PORT:-8080}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$root/.run/airflow}"
export PATH="$root/.venv/bin:$PATH"
export FLOWLAKE_CONFIG="${FLOWLAKE_CONFIG:-$root/config/airflow.yaml}"
export AIRFLOW__CORE__DAGS_FOLDER="$root/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
# Two cores: two task slots in all, each Spark job taking both cores while it runs.
export AIRFLOW__CORE__PARALLELISM=2
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG=2
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$port"
export AIRFLOW__API__WORKERS=1
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$port"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$port/execution/"
# A task talks to the API server for its state and XComs; while Spark jobs load both cores the
# one API worker on SQLite can take longer than the default 5 s to answer, which failed tasks.
export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT=60
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
export AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR=True
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
export SPARK_LOCAL_IP=127.0.0.1
pid_file="$AIRFLOW_HOME/airflow.pid"
log_file="$AIRFLOW_HOME/airflow.log"
password_file="$AIRFLOW_HOME/passwords.json"
pseudonym_key_file="$AIRFLOW_HOME/pseudonym.key"

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }
# Every process of the session start created, whatever process group it moved itself to.
session_pids() { ps -eo pid=,sid= | awk -v sid="$1" '$2 == sid { print $1 }'; }
# signal_session SID SIGNAL TRIES: signal every process of the session, wait up to TRIES/2
# seconds for all of them to exit; fails when some are still running.
signal_session() {
  local pids
  pids=$(session_pids "$1")
  [ -z "$pids" ] && return 0
  kill "-$2" $pids 2>/dev/null || true
  for _ in $(seq 1 "$3"); do
    [ -z "$(session_pids "$1")" ] && return 0
    sleep 0.5
  done
  return 1
}
port_bound() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
login() {
  local password
  password=$(.venv/bin/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$password_file")
  echo "Airflow UI: http://127.0.0.1:$port  login: admin / $password  (AIRFLOW_HOME=$AIRFLOW_HOME)"
}

case "${1:-}" in
  start)
    if running; then login; exit 0; fi
    if port_bound; then echo "airflow: 127.0.0.1:$port is already in use by another process" >&2; exit 1; fi
    mkdir -p "$AIRFLOW_HOME"
    if [ ! -f "$password_file" ]; then
      .venv/bin/python -c 'import json, secrets, sys; json.dump({"admin": secrets.token_urlsafe(12)}, open(sys.argv[1], "w"))' \
        "$password_file"
    fi
    # Mailed reports name internal hosts by pseudonym, an HMAC with a secret key (README
    # "Security"): the environment's key when it gives one, else a key of this Airflow's own,
    # made once and kept (owner-only) beside its other state so every run uses the same one.
    if [ -z "${FLOWLAKE_PSEUDONYM_KEY:-}" ]; then
      if [ ! -s "$pseudonym_key_file" ]; then
        (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_hex(32))' >"$pseudonym_key_file")
      fi
      FLOWLAKE_PSEUDONYM_KEY=$(cat "$pseudonym_key_file")
      export FLOWLAKE_PSEUDONYM_KEY
    fi
    airflow db migrate >"$log_file" 2>&1 || { echo "airflow db migrate failed; see $log_file" >&2; exit 1; }
    # A session of its own: the leader's PID is the session id that `stop` signals.
    setsid bash -c '
      airflow api-server --host 127.0.0.1 --port "$0" --workers 1 &
      airflow scheduler --skip-serve-logs &
      airflow dag-processor &
      airflow triggerer --skip-serve-logs &
      wait' "$port" >>"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
    # About a minute on an idle 2-core machine; over two when Spark jobs share it.
    for _ in $(seq 1 600); do
      if curl -fs "http://127.0.0.1:$port/api/v2/monitor/health" >/dev/null 2>&1; then login; exit 0; fi
      running || { echo "airflow exited; see $log_file" >&2; exit 1; }
      sleep 0.5
    done
    echo "airflow did not answer on 127.0.0.1:$port within 300s; see $log_file" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pid_file" ]; then
      sid=$(cat "$pid_file")
      # TERM first so the scheduler hands back its tasks and the JVMs exit cleanly; KILL
      # whatever is left after 30 seconds.
      signal_session "$sid" TERM 60 || signal_session "$sid" KILL 20 || true
      rm -f "$pid_file"
    fi
    if port_bound; then echo "airflow: 127.0.0.1:$port is still bound after stop" >&2; exit 1; fi
    ;;
  backfill|trigger)
    # backfill FROM TO: one flowlake_ingest run over the range, then its reports (infra/airflow_api.py).
    running || { echo "airflow is not running: make airflow" >&2; exit 1; }
    FLOWLAKE_AIRFLOW_PORT="$port" exec .venv/bin/python infra/airflow_api.py "$@"
    ;;
  env)
    export -p | grep -E ' (AIRFLOW_HOME|AIRFLOW__|AIRFLOW_CONN_|FLOWLAKE_CONFIG|PATH=)'
    ;;
  *)
    echo "usage: $0 start|stop|backfill FROM TO|trigger DAG_ID|env" >&2; exit 2 ;;
esac
