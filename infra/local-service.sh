#!/usr/bin/env bash
# Start and stop one local server on 127.0.0.1, recording its PID; sourced by the server scripts
# (s3-server.sh, smtp-server.sh). State: .run/<name>-<port>.{pid,log}, so runs on different
# ports never stop each other's server.
#   service_main <name> <port> start|stop <command...>
# How long start waits for the port and stop for the process to end: $service_wait_seconds (10).
set -euo pipefail

# Whether <name>'s server on <port> runs: its recorded PID is alive.
service_running() {
  local pid_file=".run/$1-$2.pid"
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

service_main() {
  local name=$1 port=$2 action=$3
  shift 3
  local run_dir=.run
  local pid_file="$run_dir/$name-$port.pid" log_file="$run_dir/$name-$port.log"
  local wait_seconds=${service_wait_seconds:-10}
  mkdir -p "$run_dir"
  running() { service_running "$name" "$port"; }
  listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

  case "$action" in
    start)
      if running; then return 0; fi
      # Its own session, so the server outlives the shell that started it.
      setsid "$@" >"$log_file" 2>&1 < /dev/null &
      echo $! >"$pid_file"
      for _ in $(seq 1 $((wait_seconds * 10))); do
        if listening; then return 0; fi
        running || { echo "$name exited; see $log_file" >&2; return 1; }
        sleep 0.1
      done
      echo "$name did not listen on 127.0.0.1:$port within ${wait_seconds}s; see $log_file" >&2
      return 1
      ;;
    stop)
      if running; then
        local pid
        pid=$(cat "$pid_file")
        kill "$pid"
        # Wait until the port is free, so the next start can bind it.
        for _ in $(seq 1 $((wait_seconds * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
          echo "$name (pid $pid) still running ${wait_seconds}s after SIGTERM; see $log_file" >&2
          return 1
        fi
      fi
      rm -f "$pid_file"
      ;;
    *)
      echo "usage: $0 start|stop" >&2; return 2 ;;
  esac
}
