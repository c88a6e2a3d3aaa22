"""`make airflow` serves the project's DAGs on 127.0.0.1:8080 (loopback only, REST API behind
a login) and runs them; `make demo` on it takes landed dumps through a real scheduler to gold and
the reports run the gold Assets trigger; `make airflow-stop` leaves no process and no bound port
behind."""

from __future__ import annotations

import importlib.util
import mailbox
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, port_bound, write_config

pytestmark = pytest.mark.integration
PORT = 8080
DEMO_FIRST, DEMO_LAST = "2017-07-30", "2017-07-31"
GOLD_ASSETS = {f"gold.{table}" for table in
               ("service_usage_daily", "country_activity_daily", "crypto_activity_daily", "crypto_contacts_daily",
                "served_daily", "overseas_presence")}


def listening_addresses(port: int) -> set[str]:
    """The local addresses of every socket listening on `port` (IPv4 and IPv6), from /proc."""
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
                # The kernel writes each 32-bit word of the address in host (little-endian) order.
                raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8))
                found.add(socket.inet_ntop(family, raw))
    return found


def unauthenticated_status(url: str) -> int:
    """The HTTP status of a GET without any credentials."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def processes_of(airflow_home: Path, session_id: int) -> list[str]:
    """Processes in the started session, or with this AIRFLOW_HOME in their environment."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            in_session = os.getsid(int(proc.name)) == session_id
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ProcessLookupError):
            continue
        if in_session or f"AIRFLOW_HOME={airflow_home}".encode() in environ:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def airflow_api():
    spec = importlib.util.spec_from_file_location("airflow_api", ROOT / "infra" / "airflow_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_airflow_runs_the_dags_the_gold_assets_trigger_the_reports_and_airflow_stop_leaves_nothing(tmp_path):
    assert not port_bound(PORT), f"127.0.0.1:{PORT} is taken before the test started"
    home = tmp_path / "airflow"
    # The local S3 and SMTP servers `make airflow` starts, on ports no other test uses.
    s3_port, smtp_port = free_port(), free_port()
    # Without the tests' pseudonym key, as `make demo` runs: the reports it mails need the key
    # `make airflow` makes for its own Airflow.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "FLOWLAKE_PSEUDONYM_KEY"}
    # Raw dumps in a bucket of the S3 server `make airflow` starts, which flowlake_ingest watches.
    config = write_config(tmp_path, raw_uri="s3a://flowlake-make-airflow/raw",
                          reports={"recipients": ["analysts@flowlake.test"], "allowed_recipients": ["@flowlake.test"],
                                   "sender": "reports@flowlake.test"})
    # FLOWLAKE_CONFIG: unpausing a DAG also starts a run for its latest schedule, with the default config.
    env.update(AIRFLOW_HOME=str(home), FLOWLAKE_AIRFLOW_PORT=str(PORT), FLOWLAKE_S3_PORT=str(s3_port),
               FLOWLAKE_SMTP_PORT=str(smtp_port), FLOWLAKE_CONFIG=str(config))

    started = time.monotonic()
    start = subprocess.run(["make", "airflow"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    startup = time.monotonic() - started
    session_id = int((home / "airflow.pid").read_text()) if (home / "airflow.pid").exists() else -1
    try:
        assert start.returncode == 0, start.stdout[-3000:] + start.stderr[-3000:]
        assert f"http://127.0.0.1:{PORT}  login: admin / " in start.stdout
        assert (home / "pseudonym.key").stat().st_mode & 0o777 == 0o600
        print(f"make airflow: {startup:.0f}s to the login line")
        api = airflow_api()
        airflow = api.Airflow(f"http://127.0.0.1:{PORT}", home / "passwords.json")
        deadline = time.monotonic() + 180
        while (dags := airflow.dag_ids()) != ["flowlake_ingest", "flowlake_maintenance", "flowlake_reports"]:
            assert time.monotonic() < deadline, f"DAGs listed after 180s: {dags}"
            time.sleep(3)
        assert airflow.call("GET", "/importErrors")["total_entries"] == 0
        # The UI's REST API wants a login: without a token it lists nothing and shows no secret.
        for path in ("/api/v2/dags", "/api/v2/connections", "/api/v2/variables"):
            assert unauthenticated_status(f"http://127.0.0.1:{PORT}{path}") in (401, 403), path
        # Development binds the loopback interface only, never every interface.
        assert listening_addresses(PORT) == {"127.0.0.1"}

        # Maintenance on an empty warehouse: the whole path (scheduler, LocalExecutor, spark-submit)
        # in one short Spark application.
        airflow.unpause("flowlake_maintenance")
        airflow.trigger("flowlake_maintenance", "make-airflow-test", {"config": str(config)})
        run = airflow.wait("flowlake_maintenance", "make-airflow-test", timeout=600)
        assert run["state"] == "success", airflow.task_states("flowlake_maintenance", "make-airflow-test")
        assert airflow.task_states("flowlake_maintenance", "make-airflow-test") == {
            "job_settings": "success", "maintain": "success"}
        assert processes_of(home, session_id)

        # The whole product through the scheduler: `make demo` on two days lands their dumps in the
        # bucket, triggers one flowlake_ingest run over both, and waits for the flowlake_reports run
        # the gold Asset events trigger (infra/airflow_api.py backfill).
        demo = subprocess.run(["make", "demo", f"DEMO_START={DEMO_FIRST}", f"DEMO_END={DEMO_LAST}",
                               "DEMO_FLOWS_PER_DAY=300"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=3600)
        assert demo.returncode == 0, demo.stdout[-5000:] + demo.stderr[-3000:]
        ingest = [r for r in airflow.runs("flowlake_ingest") if r["dag_run_id"].startswith(f"range__{DEMO_FIRST}_")]
        assert [r["state"] for r in ingest] == ["success"]
        triggered = [r for r in airflow.runs("flowlake_reports") if r["run_type"] == "asset_triggered"]
        assert [r["state"] for r in triggered] == ["success"]
        events = airflow.call("GET", f"/dags/flowlake_reports/dagRuns/{triggered[0]['dag_run_id']}"
                                     "/upstreamAssetEvents")["asset_events"]
        assert sorted((e["name"], e["source_run_id"], e["extra"]["first_day"], e["extra"]["last_day"])
                      for e in events) == sorted((name, ingest[0]["dag_run_id"], DEMO_FIRST, DEMO_LAST)
                                                 for name in GOLD_ASSETS)
        # Each report once, for the newest period ending in the two days: July (the trend's six months).
        # (Unpausing flowlake_reports also started a run on its calendar, for today: not these periods.)
        subjects = sorted(message["Subject"] for message in mailbox.Maildir(ROOT / ".run" / f"smtp-{smtp_port}")
                          if "2017" in message["Subject"])
        assert subjects == ["flowlake crypto report, 2017-07-01 to 2017-07-31",
                            "flowlake overseas report, 2017-07-01 to 2017-07-31",
                            "flowlake trend report, 2017-02-01 to 2017-07-31"]
        assert sorted(p.name for p in (tmp_path / "reports").glob("*/2017-*/report.html")) == ["report.html"] * 3
    finally:
        stop = subprocess.run(["make", "airflow-stop"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
    assert stop.returncode == 0, stop.stdout[-3000:] + stop.stderr[-3000:]
    for leftover in (f"s3-server-{s3_port}.log", f"smtp-server-{smtp_port}.log", f"smtp-{smtp_port}"):
        shutil.rmtree(ROOT / ".run" / leftover, ignore_errors=True)
        (ROOT / ".run" / leftover).unlink(missing_ok=True)
    assert processes_of(home, session_id) == []
    for port in (PORT, s3_port, smtp_port):
        assert not port_bound(port), f"127.0.0.1:{port} still bound after make airflow-stop"
