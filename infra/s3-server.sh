#!/usr/bin/env bash
# Start or stop the local S3-compatible server (moto) on 127.0.0.1 for tests and the demo.
#   infra/s3-server.sh start   # prints the endpoint; idempotent
#   infra/s3-server.sh stop    # stops the process whose PID start recorded
# Port: FLOWLAKE_S3_PORT (default 5055). State: .run/s3-server-<port>.{pid,log}.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/local-service.sh
port="${FLOWLAKE_S3_PORT:-5055}"
service_main s3-server "$port" "${1:-}" .venv/bin/moto_server -H 127.0.0.1 -p "$port"
if [ "${1:-}" = start ]; then echo "http://127.0.0.1:$port"; fi
