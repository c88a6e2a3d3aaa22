#!/usr/bin/env bash
# Start or stop the local S3-compatible server (moto) on 127.0.0.1 for tests and the demo.
#   infra/s3-server.sh start   # prints the endpoint; idempotent
#   infra/s3-server.sh stop    # stops the process whose PID start recorded
# Port: FLOWLAKE_S3_PORT (default 5055). State: .run/s3-server-<port>.{pid,log}, so test runs
# on different ports never stop each other's server.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${FLOWLAKE_S3_PORT:-5055}"
run_dir=.run
pid_file="$run_dir/s3-server-$port.pid"
log_file="$run_dir/s3-server-$port.log"
mkdir -p "$run_dir"

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "http://127.0.0.1:$port"; exit 0; fi
    setsid .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 < /dev/null &
    echo $! >"$pid_file"
    for _ in $(seq 1 100); do
      if curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1; then echo "http://127.0.0.1:$port"; exit 0; fi
      running || { echo "s3 server exited; see $log_file" >&2; exit 1; }
      sleep 0.1
    done
    echo "s3 server did not answer on 127.0.0.1:$port within 10s; see $log_file" >&2
    exit 1
    ;;
  stop)
    if running; then kill "$(cat "$pid_file")"; fi
    rm -f "$pid_file"
    ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
