#!/usr/bin/env bash
# Start or stop a Spark standalone cluster on 127.0.0.1: one master and one worker, run from the
# Spark distribution pyspark ships in the venv (its bin/spark-class; pyspark has no sbin/start-*).
#   infra/spark-cluster.sh start   # prints the master URL once the worker has registered; idempotent
#   infra/spark-cluster.sh stop    # stops the worker, then the master, by their recorded PIDs
# Then: spark-submit --master spark://127.0.0.1:7077 ... (or spark.master in the flowlake config).
# Ports (env): FLOWLAKE_SPARK_MASTER_PORT (7077), FLOWLAKE_SPARK_MASTER_UI_PORT (7080),
# FLOWLAKE_SPARK_WORKER_PORT (7078), FLOWLAKE_SPARK_WORKER_UI_PORT (7081); every one, the web UIs
# included, binds 127.0.0.1 only (SPARK_LOCAL_IP). Worker size: FLOWLAKE_SPARK_WORKER_CORES (2),
# FLOWLAKE_SPARK_WORKER_MEMORY (2g), what its executors may use together.
# State: .run/spark-{master,worker}-<port>.{pid,log}; the executors' logs of the last run under
# .run/spark-worker-<port>/.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/local-service.sh
master_port="${FLOWLAKE_SPARK_MASTER_PORT:-7077}"
master_ui_port="${FLOWLAKE_SPARK_MASTER_UI_PORT:-7080}"
worker_port="${FLOWLAKE_SPARK_WORKER_PORT:-7078}"
worker_ui_port="${FLOWLAKE_SPARK_WORKER_UI_PORT:-7081}"
master_url="spark://127.0.0.1:$master_port"
spark_class="$PWD/.venv/lib/python3.11/site-packages/pyspark/bin/spark-class"
# Every listener (RPC, web UI, block manager) on the loopback interface only.
export SPARK_LOCAL_IP=127.0.0.1
# The daemons only track workers and applications; the executors get the worker's memory.
export SPARK_DAEMON_MEMORY=512m
# Executors run Python workers with the venv's interpreter unless the job sets spark.pyspark.python.
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
# No REST submission server (it would listen on 6066): applications come through spark-submit.
export SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false"
# A JVM on a loaded 2-core machine takes longer than local-service.sh's default 10 s to listen.
service_wait_seconds=120

worker_registered() {
  curl -sf "http://127.0.0.1:$master_ui_port/json/" | grep -q '"aliveworkers" *: *[1-9]'
}

case "${1:-}" in
  start)
    # The executors' directories of the cluster's previous run go (unless it is still running);
    # this run's stay until the next.
    worker_pid_file=".run/spark-worker-$worker_port.pid"
    if ! { [ -f "$worker_pid_file" ] && kill -0 "$(cat "$worker_pid_file")" 2>/dev/null; }; then
      rm -rf ".run/spark-worker-$worker_port"
    fi
    mkdir -p ".run/spark-worker-$worker_port"
    # Both JVMs start at once (each takes tens of seconds on a busy machine); the worker retries
    # registering until the master listens.
    service_main spark-master "$master_port" start "$spark_class" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$master_port" --webui-port "$master_ui_port" &
    master_start=$!
    service_main spark-worker "$worker_port" start "$spark_class" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --port "$worker_port" --webui-port "$worker_ui_port" \
      --cores "${FLOWLAKE_SPARK_WORKER_CORES:-2}" --memory "${FLOWLAKE_SPARK_WORKER_MEMORY:-2g}" \
      --work-dir "$PWD/.run/spark-worker-$worker_port" "$master_url" &
    worker_start=$!
    wait "$master_start" && wait "$worker_start" || { "$0" stop; exit 1; }
    for _ in $(seq 1 $((service_wait_seconds * 2))); do
      if worker_registered; then echo "$master_url"; exit 0; fi
      sleep 0.5
    done
    echo "the worker did not register with $master_url within ${service_wait_seconds}s; see .run/spark-*.log" >&2
    "$0" stop
    exit 1
    ;;
  stop)
    # The worker first: it kills its executors as it goes, and the master sees it leave.
    service_main spark-worker "$worker_port" stop
    service_main spark-master "$master_port" stop
    # Each application's executor got its own copy of the jars (the AWS SDK bundle alone is
    # 600 MB); the logs beside them are kept.
    find ".run/spark-worker-$worker_port" \( -name '*.jar' -o -name '*.zip' \) -delete 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
