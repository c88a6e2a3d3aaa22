"""Silver throughput benchmark: flowlake's bronze and silver stages on generated flows, beside
DuckDB reading the same raw flow files in the same run. A benchmark, not a test: nothing asserts.

It measures, on `--flows` generated flows (default 20 million, spread over `--days` days):
  * DuckDB baseline: one `python -c` process that reads every nfdump csv.gz (read_csv with the
    nfdump header and column types) and GoFlow2 json.gz (read_json with typed columns) and
    writes them to Parquet with COPY ... TO. Whole-process wall time, DuckDB startup included.
  * flowlake: `flowlake run --config <cfg> --stages bronze,silver` on a fresh warehouse.
    Whole-process wall time (JVM start included) and, parsed from its '[run] <stage> done: ...'
    lines, bronze seconds (list, parse, validate, load) and silver seconds (find changed days,
    transform, validate, load). Silver flows/s = bronze flows that silver read / silver seconds.
Peak RSS of each process tree is sampled with psutil. The table is printed and appended as a
JSON line to bench/results.jsonl together with the machine, its load average and the parameters.

Run (from the repository root, with the project's venv):
    .venv/bin/python bench/silver_throughput.py                        # 20M flows, 30 days
    .venv/bin/python bench/silver_throughput.py --flows 200000 --days 10
    .venv/bin/python bench/silver_throughput.py --keep                 # reuse dumps if same parameters
Data goes under --workdir (default /tmp/flowlake-bench): raw/, warehouse/ (wiped each run),
duckdb/ (Parquet output, wiped), flowlake.yaml, params.json and the flowlake run's stderr log.
Generation uses the default weekly profile (weekends carry 60% of a weekday's flows) and adds
5% exporter reply records, so the raw record count differs from --flows; both are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
RESULTS = Path(__file__).with_name("results.jsonl")
START, SEED = date(2017, 7, 1), 7
SILVER_STAGES = ("find changed days", "transform", "validate", "load")
STAGE_LINE = re.compile(r"^\[run\] (.+?) done: ([\d,]+) objects, ([\d,]+) rows, .*?([\d.]+)s$")

DUCKDB_SCRIPT = r"""
import json, sys, duckdb
raw, out, header = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
typed = {"ts": "TIMESTAMP", "te": "TIMESTAMP", "td": "DOUBLE", "sp": "INTEGER", "dp": "INTEGER",
         "ipkt": "BIGINT", "ibyt": "BIGINT", "opkt": "BIGINT", "obyt": "BIGINT"}
nf_cols = {c: typed.get(c, "VARCHAR") for c in header}
gf_cols = {"type": "VARCHAR", "sampling_rate": "INTEGER", "sampler_address": "VARCHAR",
           "time_flow_start_ns": "BIGINT", "time_flow_end_ns": "BIGINT", "bytes": "BIGINT",
           "packets": "BIGINT", "src_addr": "VARCHAR", "dst_addr": "VARCHAR", "etype": "VARCHAR",
           "proto": "VARCHAR", "src_port": "INTEGER", "dst_port": "INTEGER"}
con = duckdb.connect()
# ignore_errors drops nfdump's 3-line Summary trailer (its lines have the wrong column count).
nf = con.execute(f"COPY (SELECT * FROM read_csv('{raw}/flows/pyongyang/*.csv.gz', header=true, delim=',',"
                 f" quote='', columns={nf_cols}, ignore_errors=true)) TO '{out}/nfdump.parquet'").fetchone()[0]
gf = con.execute(f"COPY (SELECT * FROM read_json('{raw}/flows/goflow2/*.json.gz',"
                 f" format='newline_delimited', columns={gf_cols})) TO '{out}/goflow2.parquet'").fetchone()[0]
print(json.dumps({"nfdump_rows": nf, "goflow2_rows": gf}))
"""


def timed(cmd: list[str], cwd: Path, log: Path, echo: str | None = None) -> dict:
    """Run cmd to completion: wall seconds, stdout, stderr lines, peak RSS of its process tree."""
    peak, done = [0], threading.Event()

    def sample(proc: psutil.Process):
        while not done.is_set():
            try:
                tree = [proc] + proc.children(recursive=True)
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            done.wait(0.25)

    lines = []
    started = time.monotonic()
    with open(log, "w") as err, subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                 text=True) as proc:
        sampler = threading.Thread(target=sample, args=(psutil.Process(proc.pid),), daemon=True)
        sampler.start()
        out = []
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
        reader.start()
        for line in proc.stderr:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
            err.write(f"{lines[-1][0]:7.1f}s {line}")
            if echo and line.startswith(echo):
                print("   ", line.rstrip(), file=sys.stderr, flush=True)
        reader.join()
        code = proc.wait()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    if code != 0:
        sys.exit(f"{cmd[0]} exited with {code}; see {log}")
    return {"seconds": seconds, "stdout": "".join(out), "stderr": lines, "peak_rss": peak[0]}


def write_config(workdir: Path) -> Path:
    base = yaml.safe_load((ROOT / "config" / "flowlake.yaml").read_text())
    config = {"raw_uri": f"file://{workdir}/raw", "warehouse_uri": f"file://{workdir}/warehouse",
              "reports_uri": f"file://{workdir}/reports", "monitored_ranges": base["monitored_ranges"],
              "sources": base["sources"]}
    path = workdir / "flowlake.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def ensure_dumps(workdir: Path, config_path: Path, flows: int, days: int, keep: bool) -> dict:
    """Generate the dumps unless --keep and params.json shows these parameters were generated."""
    from flowlake.config import load_config
    from flowlake.generate.dumps import generate
    from flowlake.progress import Progress

    params = {"flows": flows, "days": days, "flows_per_day": flows // days, "start": START.isoformat(), "seed": SEED}
    marker = workdir / "params.json"
    if keep and marker.exists() and json.loads(marker.read_text())["params"] == params:
        print(f"reusing dumps in {workdir}/raw (same parameters)", file=sys.stderr)
        return json.loads(marker.read_text())
    shutil.rmtree(workdir / "raw", ignore_errors=True)
    marker.unlink(missing_ok=True)
    started = time.monotonic()
    truth = generate(load_config(config_path), START, START + timedelta(days=days - 1), flows // days, SEED,
                     Progress("generate"))
    record = {"params": params, "generated_flows": truth["flows"], "raw_records": truth["records"],
              "records_by_format": truth["records_by_format"], "generate_seconds": round(time.monotonic() - started, 1)}
    marker.write_text(json.dumps(record, indent=1))
    return record


def stage_seconds(stderr: list[tuple[float, str]]) -> dict:
    """Per-stage seconds from '[run] <stage> done:' lines; stages from 'find changed days' on are silver's.
    Also when the first '[run]' line came (JVM and session start) and when the last stage ended."""
    stages, layer = {"bronze": {}, "silver": {}}, "bronze"
    silver_flows, first, last = 0, None, 0.0
    for at, line in stderr:
        first = at if first is None and line.startswith("[run]") else first
        match = STAGE_LINE.match(line)
        if match:
            last = at
            name, rows, seconds = match.group(1), int(match.group(3).replace(",", "")), float(match.group(4))
            layer = "silver" if name == SILVER_STAGES[0] else layer
            stages[layer][name] = seconds
            silver_flows = rows if layer == "silver" and name == "transform" else silver_flows
    return {**stages, "silver_input_flows": silver_flows, "startup_s": first or 0.0, "last_stage_end_s": last}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/flowlake-bench"))
    parser.add_argument("--keep", action="store_true", help="reuse dumps already generated with the same parameters")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    config_path = write_config(workdir)
    dumps = ensure_dumps(workdir, config_path, args.flows, args.days, args.keep)
    raw_bytes = sum(p.stat().st_size for p in (workdir / "raw" / "flows").rglob("*.gz"))

    from flowlake.readers.delimited import NFDUMP_V1

    shutil.rmtree(workdir / "duckdb", ignore_errors=True)
    (workdir / "duckdb").mkdir()
    print("DuckDB: read raw flow files, write Parquet ...", file=sys.stderr, flush=True)
    duck = timed([str(VENV_BIN / "python"), "-c", DUCKDB_SCRIPT, str(workdir / "raw"), str(workdir / "duckdb"),
                  json.dumps(list(NFDUMP_V1.header))], workdir, workdir / "duckdb.log")
    duck_rows = json.loads(duck["stdout"].strip().splitlines()[-1])

    shutil.rmtree(workdir / "warehouse", ignore_errors=True)
    print("flowlake run --stages bronze,silver ...", file=sys.stderr, flush=True)
    run = timed([str(VENV_BIN / "flowlake"), "run", "--config", str(config_path), "--stages", "bronze,silver"],
                workdir, workdir / "flowlake-run.log", echo="[run]")
    stages = stage_seconds(run["stderr"])
    bronze_s, silver_s = sum(stages["bronze"].values()), sum(stages["silver"].values())
    rows = duck_rows["nfdump_rows"] + duck_rows["goflow2_rows"]
    silver_fps = stages["silver_input_flows"] / silver_s if silver_s else 0.0
    after = run["seconds"] - stages["last_stage_end_s"]  # closing summary: table counts, session stop
    between = stages["last_stage_end_s"] - stages["startup_s"] - bronze_s - silver_s  # bronze summary, setup
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in os.getloadavg()]},
        "params": dumps["params"], "generated_flows": dumps["generated_flows"], "raw_records": dumps["raw_records"],
        "raw_flow_bytes": raw_bytes, "duckdb_rows": duck_rows, "rows": rows,
        "duckdb_s": round(duck["seconds"], 2), "duckdb_peak_rss_mib": duck["peak_rss"] >> 20,
        "bronze_s": round(bronze_s, 1), "silver_s": round(silver_s, 1),
        "bronze_stages_s": stages["bronze"], "silver_stages_s": stages["silver"],
        "silver_input_flows": stages["silver_input_flows"], "silver_flows_per_s": round(silver_fps),
        "flowlake_total_s": round(run["seconds"], 1), "flowlake_peak_rss_mib": run["peak_rss"] >> 20,
        "flowlake_startup_s": round(stages["startup_s"], 1), "flowlake_after_stages_s": round(after, 1),
        "flowlake_between_stages_s": round(between, 1),
        "ratio_bronze_to_duckdb": round(bronze_s / duck["seconds"], 1),
        "ratio_silver_to_duckdb": round(silver_s / duck["seconds"], 1),
        "ratio_total_to_duckdb": round(run["seconds"] / duck["seconds"], 1),
    }
    table = [
        ("raw flow records (DuckDB rows)", f"{rows:,}  (generated flows {dumps['generated_flows']:,}, "
                                           f"{raw_bytes / 2**20:,.0f} MiB gz)"),
        ("DuckDB read + Parquet, s", f"{duck['seconds']:.2f}  (peak RSS {result['duckdb_peak_rss_mib']:,} MiB)"),
        ("bronze, s", f"{bronze_s:.1f}  " + ", ".join(f"{k} {v:.1f}" for k, v in stages["bronze"].items())),
        ("silver, s", f"{silver_s:.1f}  " + ", ".join(f"{k} {v:.1f}" for k, v in stages["silver"].items())),
        ("silver flows/s", f"{silver_fps:,.0f}  ({stages['silver_input_flows']:,} bronze flows in)"),
        ("flowlake total (process), s", f"{run['seconds']:.1f}  (start {stages['startup_s']:.1f}, between stages "
                                        f"{between:.1f}, after {after:.1f}; "
                                        f"peak RSS {result['flowlake_peak_rss_mib']:,} MiB)"),
        ("ratio to DuckDB", f"bronze {result['ratio_bronze_to_duckdb']}x, silver {result['ratio_silver_to_duckdb']}x,"
                            f" total {result['ratio_total_to_duckdb']}x"),
        ("load average before / after", f"{load_before[0]:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"),
    ]
    width = max(len(k) for k, _ in table)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in table))
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    return result


if __name__ == "__main__":
    main()
