#!/usr/bin/env bash
# Start or stop the local SMTP server (aiosmtpd) on 127.0.0.1 for tests and the demo.
# Every message it receives is stored in the maildir .run/smtp-<port>/ (one file per message
# under new/), so tests and people can read exactly what was sent.
#   infra/smtp-server.sh start   # prints host:port; idempotent
#   infra/smtp-server.sh stop    # stops the process whose PID start recorded
# Port: FLOWLAKE_SMTP_PORT (default 8025). State: .run/smtp-server-<port>.{pid,log}.
# With FLOWLAKE_SMTP_TLS=starttls|tls it speaks TLS and asks for a login instead
# (infra/smtp_tls_server.py, which says what else it reads from the environment).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/local-service.sh
port="${FLOWLAKE_SMTP_PORT:-8025}"
if [ -n "${FLOWLAKE_SMTP_TLS:-}" ]; then
  service_main smtp-server "$port" "${1:-}" .venv/bin/python infra/smtp_tls_server.py "$port" "$PWD/.run/smtp-$port"
else
  service_main smtp-server "$port" "${1:-}" .venv/bin/python -m aiosmtpd -n -l "127.0.0.1:$port" \
    -c aiosmtpd.handlers.Mailbox "$PWD/.run/smtp-$port"
fi
if [ "${1:-}" = start ]; then echo "127.0.0.1:$port"; fi
