#!/usr/bin/env bash
# `make demo`: the whole product on this machine, through Airflow. Generated dumps for START..END
# land in the local S3 server's bucket (the config's raw_uri); one flowlake_ingest run takes them
# to bronze, silver and gold, and the flowlake_reports run its gold Assets trigger renders the
# trend, overseas and crypto reports to reports_uri and mails them to the local SMTP server.
#   infra/demo.sh START END FLOWS_PER_DAY   # the Makefile passes DEMO_START, DEMO_END, DEMO_FLOWS_PER_DAY
# Expects `make airflow` to be up (S3 on FLOWLAKE_S3_PORT, SMTP on FLOWLAKE_SMTP_PORT, Airflow on
# FLOWLAKE_AIRFLOW_PORT); the config is FLOWLAKE_CONFIG (config/airflow.yaml). Airflow stays up
# afterwards for the UI; `make airflow-stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$1 end=$2 flows=$3
config="${FLOWLAKE_CONFIG:-$PWD/config/airflow.yaml}"
smtp_port="${FLOWLAKE_SMTP_PORT:-8025}"
# The credentials and endpoint the Makefile gives Airflow's flowlake_s3 connection.
export FLOWLAKE_S3_ENDPOINT="http://127.0.0.1:${FLOWLAKE_S3_PORT:-5055}" AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
began=$SECONDS

# The S3 server keeps its objects in memory: after a restart the bucket is gone. So the dumps are
# generated (deterministic by seed: the same bytes again) unless the range's last day is there.
# Regenerated objects have new modification times, so bronze ingests them again and silver and
# gold rebuild the range with the same rows.
landed=$(.venv/bin/python - "$config" "$end" <<'PY'
import sys
from flowlake.config import load_config
from flowlake.storage import s3_client, split_s3

config = load_config(sys.argv[1])
bucket, prefix = split_s3(config.raw_uri)
client = s3_client(config.s3)
if bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
    client.create_bucket(Bucket=bucket)
print("yes" if client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/dns/{sys.argv[2]}")["KeyCount"] else "no")
PY
)
if [ "$landed" = no ]; then
  .venv/bin/flowlake generate --config "$config" --start "$start" --end "$end" --flows-per-day "$flows"
else
  echo "[demo] the dumps of $start to $end are in the bucket already"
fi

infra/airflow.sh backfill "$start" "$end"

reports=$(.venv/bin/python -c 'import sys; from flowlake.config import load_config; print(load_config(sys.argv[1]).reports_uri)' "$config")
echo
echo "[demo] done in $(( (SECONDS - began) / 60 ))m $(( (SECONDS - began) % 60 ))s"
echo "Reports (open the index in a browser):"
case "$reports" in
  file://*) find "${reports#file://}" -name '*.html' | sort | while read -r page; do echo "  file://$(realpath "$page")"; done ;;
  *) echo "  $reports/index.html" ;;
esac
echo "Mail the reports run sent (one file per message): $PWD/.run/smtp-$smtp_port/new/"
infra/airflow.sh start
echo "The runs: flowlake_ingest and flowlake_reports in the UI. Stop everything: make airflow-stop"
