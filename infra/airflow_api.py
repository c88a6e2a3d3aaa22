"""Drive the local Airflow through its REST API: list DAGs, trigger runs, wait for them, backfill.

  python infra/airflow_api.py backfill 2017-07-01 2017-12-31   # what `make backfill` runs
  python infra/airflow_api.py trigger flowlake_maintenance      # one run, waited for

The API is the one `infra/airflow.sh start` serves on 127.0.0.1:FLOWLAKE_AIRFLOW_PORT; the
admin password is the one it wrote to AIRFLOW_HOME/passwords.json.

A backfill is one flowlake_ingest run whose data interval is the whole range [FROM, TO + 1 day):
its sensor waits for FROM's dumps, bronze ingests every object not yet ingested, silver and gold
rebuild exactly the days that changed, and the gold Asset events carry the range, so the
flowlake_reports run they trigger renders each report for its newest period in the range. One
run rather than one per day: every day's run would start three Spark applications to find
nothing new after the first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
FINISHED = {"success", "failed"}


class Airflow:
    def __init__(self, base_url: str, password_file: Path, user: str = "admin"):
        self.base_url = base_url.rstrip("/")
        password = json.loads(password_file.read_text())[user]
        reply = requests.post(f"{self.base_url}/auth/token", json={"username": user, "password": password}, timeout=30)
        reply.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> dict:
        # While Spark jobs load the machine the API server (on SQLite) can take over a minute to
        # answer; a read is tried again, a write (a trigger, an unpause) is not.
        attempts = 5 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                reply = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=120, **kwargs)
                break
            except (requests.ConnectionError, requests.Timeout):
                if attempt == attempts:
                    raise
                time.sleep(10)
        if reply.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {reply.status_code} {reply.text[:500]}")
        return reply.json()

    def dag_ids(self) -> list[str]:
        return sorted(d["dag_id"] for d in self.call("GET", "/dags", params={"limit": 100})["dags"])

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, run_id: str, conf: dict | None = None,
                interval: tuple[datetime, datetime] | None = None) -> dict:
        body = {"dag_run_id": run_id, "conf": conf or {}, "logical_date": None}
        if interval:
            body.update(logical_date=interval[0].isoformat(), data_interval_start=interval[0].isoformat(),
                        data_interval_end=interval[1].isoformat())
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": 50})["dag_runs"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        instances = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        return {(t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else "")): t["state"]
                for t in instances["task_instances"]}

    def wait(self, dag_id: str, run_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        shown = None
        while True:
            run = self.run(dag_id, run_id)
            states = self.task_states(dag_id, run_id)
            if states != shown:
                print(f"[airflow] {dag_id} {run_id}: {run['state']}: "
                      + ", ".join(f"{t} {s}" for t, s in states.items()), flush=True)
                shown = states
            if run["state"] in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(5)


def client() -> Airflow:
    port = os.environ.get("FLOWLAKE_AIRFLOW_PORT", "8080")
    home = Path(os.environ.get("AIRFLOW_HOME", ROOT / ".run" / "airflow"))
    return Airflow(f"http://127.0.0.1:{port}", home / "passwords.json")


def backfill(airflow: Airflow, first: date, last: date, timeout: float) -> int:
    """One flowlake_ingest run over [first, last], then the flowlake_reports run it triggers."""
    for dag_id in ("flowlake_ingest", "flowlake_reports"):
        airflow.unpause(dag_id)
    start = datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    before = {r["dag_run_id"] for r in airflow.runs("flowlake_reports")}
    run_id = f"range__{first}_{last}__{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"  # backfill__ is reserved
    airflow.trigger("flowlake_ingest", run_id, interval=(start, end))
    ingest = airflow.wait("flowlake_ingest", run_id, timeout)
    if ingest["state"] != "success":
        print(f"[airflow] flowlake_ingest {run_id} {ingest['state']}: see its task logs in the UI", file=sys.stderr)
        return 1
    deadline = time.monotonic() + 120
    # Only the asset-triggered run: unpausing may also have started a run for the latest schedule.
    while not (new := [r for r in airflow.runs("flowlake_reports")
                       if r["dag_run_id"] not in before and r["run_type"] == "asset_triggered"]):
        if time.monotonic() > deadline:
            print("[airflow] the gold Asset events triggered no flowlake_reports run within 120s", file=sys.stderr)
            return 1
        time.sleep(5)
    reports = airflow.wait("flowlake_reports", new[0]["dag_run_id"], timeout)
    return 0 if reports["state"] == "success" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drive the local Airflow through its REST API.")
    commands = parser.add_subparsers(dest="command", required=True)
    fill = commands.add_parser("backfill", help="ingest FROM..TO in one run, then its reports")
    fill.add_argument("first", type=date.fromisoformat)
    fill.add_argument("last", type=date.fromisoformat)
    one = commands.add_parser("trigger", help="trigger one run of a DAG and wait for it")
    one.add_argument("dag_id")
    one.add_argument("--conf", type=json.loads, default={})
    for command in (fill, one):
        command.add_argument("--timeout", type=float, default=3600, help="seconds to wait for each run")
    args = parser.parse_args(argv)
    airflow = client()
    if args.command == "backfill":
        return backfill(airflow, args.first, args.last, args.timeout)
    airflow.unpause(args.dag_id)
    run_id = f"manual__{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    airflow.trigger(args.dag_id, run_id, args.conf)
    return 0 if airflow.wait(args.dag_id, run_id, args.timeout)["state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
