"""Inputs that fight back: a gzip bomb, mail dropped after DATA, change data vacuumed too early.

Each scenario runs the product on the fault suite's generated days and compares what it left
with the undisturbed reference (every table, DNS and quarantine included) and the generator's
truth:
- a gzip bomb among the dumps (`generate(..., gzip_bomb=True)`) is one quarantine row naming
  it and bronze.max_decompressed_mib; every other row equals the reference's;
- an SMTP server that takes DATA and closes the connection before its final reply: the run
  fails saying so, the published files equal an undisturbed delivery's, and the re-run mails
  the report exactly once;
- VACUUM at 0 hours between bronze and silver, and between silver and gold: the lagging layer
  takes its days from the table itself, says so, and ends equal to the reference;
- passive-DNS names a spreadsheet would run as formulas (`generate(..., formula_names=True)`)
  reach the overseas report's CSV quoted as text.

`make test` runs the reduced form, the SMTP scenario on a tiny report (no Spark; the bomb's
and the vacuumed feed's reduced forms are tests/unit/test_readers.py, tests/unit/test_bronze_plan.py
and tests/integration/test_tables.py, the formula names' tests/unit/test_generate_world.py and
tests/unit/test_reports.py); `make faults` runs them all on the reference days.
"""

from __future__ import annotations

import csv
import shutil
import socket
import threading
import time
from datetime import date
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import functions as F

from flowlake.generate.dumps import FORMULA_NAMES, generate
from flowlake.maintenance import run_maintenance
from flowlake.periods import ReportWindow
from flowlake.progress import Progress
from flowlake.reports.deliver import RECORD, DeliveryFailed, SmtpServer, deliver
from flowlake.reports.document import Report, Section, report_files
from flowlake.reports.reproduce import MANIFEST, REFERENCES
from flowlake.storage import local_path
from tests.faults.conftest import FIRST_DAY, FLOWS_PER_DAY, LAST_DAY, RUN_TIME, build_lake, lake_config
from tests.faults.harness import convergence, lake_rows, record_result

BOMB_BOUND_MIB = 1


class DroppingSmtpServer:
    """An SMTP server on 127.0.0.1 that reads a message's DATA to its final dot and then, for
    the first `drops` messages, closes the connection instead of replying: the message is
    not taken. Later messages are taken (250) and kept in `received`."""

    def __init__(self, drops: int):
        self.drops, self.dropped, self.received = drops, 0, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed by stop()
                return
            with connection, connection.makefile("rb") as lines:
                self._converse(connection, lines)

    def _converse(self, connection: socket.socket, lines) -> None:
        connection.sendall(b"220 dropping.test ESMTP\r\n")
        for line in lines:
            command = line[:4].upper()
            if command == b"QUIT":
                connection.sendall(b"221 bye\r\n")
                return
            if command != b"DATA":
                connection.sendall(b"250 ok\r\n")
                continue
            connection.sendall(b"354 end with <CRLF>.<CRLF>\r\n")
            body = b"".join(iter(lines.readline, b".\r\n"))
            if self.dropped < self.drops:
                self.dropped += 1
                return  # the connection closes with no reply to the message
            self.received.append(body)
            connection.sendall(b"250 queued\r\n")

    def stop(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() the thread waits in
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def dropping_server():
    servers = []

    def start(drops: int) -> DroppingSmtpServer:
        servers.append(DroppingSmtpServer(drops))
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


def tiny_report() -> Report:
    table = pd.DataFrame({"country": ["AO", "IN"], "flows": [3, 40]})
    return Report("overseas", "Overseas", ReportWindow("overseas", date(2017, 7, 1), date(2017, 7, 31)),
                  ["2 countries"], [Section("countries_ranked", "Countries", table=table)],
                  {"generated at": "2026-01-01", **{key: "test" for key in REFERENCES}})


def published_files(config) -> dict[str, bytes]:
    root = local_path(config.reports_uri)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_smtp_dropping_after_data_fails_the_run_keeps_the_report_and_the_rerun_mails_it_once(tmp_path, dropping_server):
    config = lake_config(tmp_path)
    report = tiny_report()
    said = StringIO()
    # Every attempt of the run is dropped after DATA: the run fails, saying where the connection went.
    server = dropping_server(drops=config.reports.send_attempts)
    with pytest.raises(DeliveryFailed, match=f"not sent after {config.reports.send_attempts} attempts: "
                                             "UnconfirmedMessage: the server closed the connection during DATA"):
        deliver(config, report, True, False, Progress("test", stream=said), SmtpServer("127.0.0.1", server.port, None, None))
    assert f"email attempt {config.reports.send_attempts} of {config.reports.send_attempts} failed: " \
           "UnconfirmedMessage" in said.getvalue()
    files = published_files(config)
    prefix = f"overseas/{report.window.label}"
    # The whole report is published, and nothing says it was mailed.
    assert {name: data for name, data in files.items() if name.startswith(prefix) and name != f"{prefix}/{MANIFEST}"} \
        == {f"{prefix}/{name}": data for name, data in report_files(report).items()}
    assert f"{prefix}/{MANIFEST}" in files and f"{prefix}/{RECORD}" not in files
    assert (server.dropped, server.received) == (3, [])

    # The re-run (the server now answers) mails it once; one more run mails nothing.
    delivery = deliver(config, report, True, False, Progress("test"), SmtpServer("127.0.0.1", server.port, None, None))
    assert delivery["emailed"] and delivery["attempts"] == 1 and len(server.received) == 1
    assert not deliver(config, report, True, False, Progress("test"),
                       SmtpServer("127.0.0.1", server.port, None, None))["emailed"]
    assert len(server.received) == 1

    # One dropped attempt within a run is retried: one message taken, in two attempts.
    retried = dropping_server(drops=1)
    delivery = deliver(config, report, True, True, Progress("test"), SmtpServer("127.0.0.1", retried.port, None, None))
    assert (delivery["attempts"], retried.dropped, len(retried.received)) == (2, 1, 1)


@pytest.mark.faults
def test_smtp_dropping_after_data_on_the_reference_report_fails_keeps_it_and_the_rerun_mails_it_once(
        spark, fault_lake, tmp_path, dropping_server, monkeypatch):
    from flowlake.reports.job import run_report

    started = time.monotonic()
    monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
    monkeypatch.delenv("FLOWLAKE_SMTP_USER", raising=False)
    configs = {}
    for name in ("trial", "reference"):
        # One folder name for both: it names the recipient, which the manifest records.
        (tmp_path / name / "inputs").mkdir(parents=True)
        configs[name] = lake_config(tmp_path / name / "inputs", fault_lake.raw,
                                    warehouse_uri=fault_lake.config.warehouse_uri)
    # The undisturbed delivery of the same report from the same tables, mailed to a server that answers.
    answering = dropping_server(drops=0)
    monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(answering.port))
    run_report(spark, configs["reference"], "overseas", LAST_DAY, RUN_TIME, True, False, Progress("test"))
    expected = {name: data for name, data in published_files(configs["reference"]).items()
                if not name.endswith(RECORD)}

    server = dropping_server(drops=3)
    monkeypatch.setenv("FLOWLAKE_SMTP_PORT", str(server.port))
    with pytest.raises(DeliveryFailed, match="UnconfirmedMessage: the server closed the connection during DATA"):
        run_report(spark, configs["trial"], "overseas", LAST_DAY, RUN_TIME, True, False, Progress("test"))
    after_failure = published_files(configs["trial"])
    rerun = run_report(spark, configs["trial"], "overseas", LAST_DAY, RUN_TIME, True, False, Progress("test"))
    once_more = run_report(spark, configs["trial"], "overseas", LAST_DAY, RUN_TIME, True, False, Progress("test"))
    published = {name: data for name, data in published_files(configs["trial"]).items() if not name.endswith(RECORD)}
    lake_unchanged = lake_rows(spark, fault_lake.config) == fault_lake.rows
    record_result("SMTP connection dropped after DATA", trial=0, attempts_dropped=server.dropped,
                  emails=len(server.received), files_equal=published == expected == after_failure,
                  tables_equal=lake_unchanged, rows_lost=0, duplicates=len(server.received) - 1,
                  seconds=round(time.monotonic() - started, 1))
    assert after_failure == expected, "the failed delivery's files differ from the undisturbed one's"
    assert published == expected
    assert (server.dropped, rerun["emailed"], once_more["emailed"], len(server.received)) == (3, True, False, 1)
    assert len(answering.received) == 1
    assert lake_unchanged


@pytest.mark.faults
def test_a_gzip_bomb_among_the_dumps_is_quarantined_whole_and_every_other_row_equals_the_reference(
        spark, fault_lake, tmp_path):
    started = time.monotonic()
    config = lake_config(tmp_path, bronze={"max_decompressed_mib": BOMB_BOUND_MIB})
    # The reference's days drawn again with the same seed, and the bomb beside them.
    truth = generate(config, FIRST_DAY, LAST_DAY, FLOWS_PER_DAY, 17, Progress("test"), gzip_bomb=True)
    bomb = f"flows/pyongyang/{FIRST_DAY}.bomb.csv.gz"
    assert truth["quarantined_objects"] == [bomb]
    traps = ("uri", "quarantined_objects", "formula_names")
    assert {k: v for k, v in truth.items() if k not in traps} == \
        {k: v for k, v in fault_lake.truth.items() if k not in traps}
    build_lake(spark, config)

    # Dumps written again carry another gzip timestamp: their checksums and times differ, no row.
    drop = ("sha256", "modification_time")
    figures = convergence(spark, config, lake_rows(spark, fault_lake.config, drop), truth, drop)
    quarantined = [r.asDict() for r in spark.read.format("delta").load(config.table_uri("bronze", "quarantine"))
                   .where(F.col("source_object").endswith(bomb)).collect()]
    manifest = spark.read.format("delta").load(config.table_uri("bronze", "ingested_files")) \
        .where(F.col("source_object").endswith(bomb)).first()
    bound = f"the bound of {BOMB_BOUND_MIB * 2**20:,} bytes"
    differing = {table: (d["missing"], d["extra"]) for table, d in figures["differences"].items()}
    # The bomb's quarantine row and manifest entry are all it may add to the reference.
    only_the_bomb = differing == {"bronze.quarantine": (0, 1), "bronze.ingested_files": (0, 1)}
    record_result("gzip bomb among the dumps", trial=0, bomb_bytes=manifest.size, bound_mib=BOMB_BOUND_MIB,
                  quarantined_whole=len(quarantined) == 1 and bound in (quarantined[0]["reason"] or ""),
                  seconds=round(time.monotonic() - started, 1), **{**figures, "tables_equal": only_the_bomb})
    assert len(quarantined) == 1 and quarantined[0]["line_number"] is None, quarantined
    assert quarantined[0]["reason"].startswith(f"unreadable object: {bomb}: decompresses to more than {bound}")
    assert quarantined[0]["reason"].endswith("(bronze.max_decompressed_mib)")
    assert manifest.unreadable_reason == quarantined[0]["reason"] and manifest.flow_rows == 0
    assert only_the_bomb, figures["differences"]
    assert figures["differences"]["bronze.quarantine"]["extra_sample"][0][0] == bomb
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), figures


def land(raw: Path, into: Path, day: date, half: int | None = None) -> None:
    """Copy the dumps of `day` (times kept, so the manifest records what the reference did), or
    every other one of them from the first (`half` 0) or the second (1)."""
    paths = sorted(raw.rglob(f"*{day}*"))
    for path in paths if half is None else paths[half::2]:
        (into / path.relative_to(raw)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, into / path.relative_to(raw))


@pytest.mark.faults
def test_layers_lagging_behind_a_vacuum_rebuild_from_their_source_table_and_end_at_the_reference(
        spark, fault_lake, tmp_path):
    started = time.monotonic()
    config = lake_config(tmp_path, maintenance={"vacuum_retention_hours": 0})
    days = [FIRST_DAY, date(2017, 7, 2), LAST_DAY]
    land(fault_lake.raw, tmp_path / "raw", days[0])
    build_lake(spark, config)

    # Silver lags bronze: bronze ingests a day in two runs (two files of the day in bronze.flows,
    # which OPTIMIZE compacts), maintenance compacts and vacuums at 0 hours, deleting the files
    # of the commits silver has not read yet.
    for half in (0, 1):
        land(fault_lake.raw, tmp_path / "raw", days[1], half)
        build_lake(spark, config, ("bronze",))
    run_maintenance(spark, config, LAST_DAY, Progress("test"))
    silver_said = StringIO()
    build_lake(spark, config, ("silver", "gold"), stream=silver_said)

    # Gold lags silver likewise: silver rebuilds day three twice (its second half lands after the
    # first is built), so its first file of the day is removed by the second write and VACUUM
    # deletes it before gold has read the commit that added it. (Built once, the day is one
    # file that OPTIMIZE leaves alone, and gold's feed stays whole.)
    for half in (0, 1):
        land(fault_lake.raw, tmp_path / "raw", days[2], half)
        build_lake(spark, config, ("bronze", "silver"))
    run_maintenance(spark, config, LAST_DAY, Progress("test"))
    gold_said = StringIO()
    build_lake(spark, config, ("gold",), stream=gold_said)

    figures = convergence(spark, config, fault_lake.rows, fault_lake.truth)
    rebuilt = {layer: [line for line in said.getvalue().splitlines() if "rebuilding every day of" in line]
               for layer, said in (("silver", silver_said), ("gold", gold_said))}
    record_result("VACUUM deleting change data a lagging layer needs", trial=0,
                  rebuilt_lines={k: len(v) for k, v in rebuilt.items()},
                  seconds=round(time.monotonic() - started, 1), **figures)
    assert len(rebuilt["silver"]) >= 1 and all("FILE_NOT_EXIST" in line or "FileNotFound" in line
                                               for line in rebuilt["silver"]), silver_said.getvalue()
    assert f"rebuilding every day of {config.table_uri('bronze', 'flows')}" in rebuilt["silver"][0]
    assert rebuilt["gold"] and f"rebuilding every day of {config.table_uri('silver', 'flows')}" in rebuilt["gold"][0], \
        gold_said.getvalue()
    assert figures["tables_equal"], figures["differences"]
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), figures


@pytest.mark.faults
def test_the_generators_formula_names_reach_the_overseas_csv_neutralised(spark, tmp_path):
    from flowlake.reports.job import run_report

    started = time.monotonic()
    config = lake_config(tmp_path)
    truth = generate(config, FIRST_DAY, FIRST_DAY, FLOWS_PER_DAY, 17, Progress("test"), formula_names=True)
    build_lake(spark, config)
    report = run_report(spark, config, "overseas", FIRST_DAY, RUN_TIME, False, False, Progress("test"))["report"]
    ranked = report_files(report)["countries_ranked.csv"].decode()
    rows = list(csv.DictReader(StringIO(ranked)))
    evidence = next((r["evidence"] for r in rows if r["country"] == "ZW"), "")
    # Every text cell of every CSV the report publishes: none starts as a formula.
    cells = [cell for name, data in report_files(report).items() if name.endswith(".csv")
             for row in csv.reader(StringIO(data.decode())) for cell in row]
    runnable = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@") and not _number(cell)]
    record_result("formula names in passive DNS", trial=0, formula_names=len(truth["formula_names"]),
                  evidence=evidence, runnable_cells=len(runnable), rows_lost=0, duplicates=0,
                  seconds=round(time.monotonic() - started, 1))
    assert truth["formula_names"] == list(FORMULA_NAMES)
    # The evidence cell lists the names, the first one quoted so a spreadsheet shows it as text.
    assert evidence.startswith("'") and evidence[1:].split(" (")[0].lower() in {n.lower() for n in FORMULA_NAMES}, \
        ranked
    assert runnable == []


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
