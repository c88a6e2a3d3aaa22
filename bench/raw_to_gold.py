"""The issue-8 benchmark: flowlake's whole raw -> gold pipeline beside DuckDB on the same raw
files, one new day added to the lake, and peak memory at 1x and 10x data. A benchmark, not a
test: nothing asserts.

In one run, on `--flows` generated flows (default 20 million, `--hundred-million` for 100
million) spread over `--days` days, it measures:
  1. DuckDB baseline: one `python -c` process reading every nfdump csv.gz (read_csv, typed) and
     GoFlow2 json.gz (read_json, typed) and writing Parquet with COPY ... TO. Whole-process wall
     time, DuckDB's start included.
  2. Full run: `flowlake run --stages bronze,silver,gold` on a fresh warehouse. Whole-process
     wall time (JVM start included), flows per second, and each stage's seconds from its
     '[run] <stage> done: ...' line; silver's flows per second (issue 3) is the bronze flows
     silver read over silver's seconds.
  3. Incremental day: the dumps of the day after the last one land, and the same command runs
     again on that lake. Its wall time over the full run's (issue 8's target: 1/20 on a
     six-month lake; a lake of N days cannot go below about 1/N).
  4. Memory flatness: the full run again on a tenth of the flows over the same days, in its
     own directory: peak memory at 1x against the full run's at 10x.
Peak memory is the RSS of the whole process tree (Python driver, JVM, Python workers), sampled
with psutil every 0.25 s; the 1-minute load average is sampled beside it, since the machine is
shared. The table is printed and appended as one JSON line to bench/results.jsonl.

Run (from the repository root, with the project's venv; `make bench` runs the first):
    .venv/bin/python bench/raw_to_gold.py                            # 20M flows, 30 days
    .venv/bin/python bench/raw_to_gold.py --hundred-million
    .venv/bin/python bench/raw_to_gold.py --flows 200000 --days 10 --keep
    .venv/bin/python bench/raw_to_gold.py --skip-incremental --skip-memory --label before
--keep reuses dumps generated with the same parameters. Data goes under --workdir (default
/tmp/flowlake-bench): raw/ and next-day/ (dumps), warehouse/ (wiped each run), duckdb/
(Parquet, wiped), tenth/ (the 1x run), flowlake.yaml, params.json and each run's stderr log.
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
LAYERS = ("bronze", "silver", "gold")
STAGES = "bronze,silver,gold"
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
    """Run cmd to completion: wall seconds, stdout, stderr lines, peak RSS of its process tree
    and the highest 1-minute load average seen while it ran."""
    peak, load, done = [0], [os.getloadavg()[0]], threading.Event()

    def sample(proc: psutil.Process):
        while not done.is_set():
            try:
                tree = [proc] + proc.children(recursive=True)
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            load[0] = max(load[0], os.getloadavg()[0])
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
    return {"seconds": seconds, "stdout": "".join(out), "stderr": lines, "peak_rss": peak[0],
            "max_load": round(load[0], 2)}


def write_config(workdir: Path, raw: Path) -> Path:
    base = yaml.safe_load((ROOT / "config" / "flowlake.yaml").read_text())
    config = {"raw_uri": f"file://{raw}", "warehouse_uri": f"file://{workdir}/warehouse",
              "reports_uri": f"file://{workdir}/reports", "monitored_ranges": base["monitored_ranges"],
              "sources": base["sources"]}
    path = workdir / f"{raw.name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def ensure_dumps(workdir: Path, flows: int, days: int, keep: bool) -> dict:
    """The lake's dumps in raw/ and the next day's in next-day/, generated unless --keep finds
    params.json recording these parameters."""
    from flowlake.config import load_config
    from flowlake.generate.dumps import generate
    from flowlake.progress import Progress

    workdir.mkdir(parents=True, exist_ok=True)
    params = {"flows": flows, "days": days, "flows_per_day": flows // days, "start": START.isoformat(), "seed": SEED}
    marker = workdir / "params.json"
    if keep and marker.exists() and json.loads(marker.read_text())["params"] == params:
        print(f"reusing dumps in {workdir} (same parameters)", file=sys.stderr)
        return json.loads(marker.read_text())
    marker.unlink(missing_ok=True)
    record = {"params": params}
    started = time.monotonic()
    for folder, first, last, seed in (("raw", START, START + timedelta(days=days - 1), SEED),
                                      ("next-day", START + timedelta(days=days), START + timedelta(days=days), SEED + 1)):
        shutil.rmtree(workdir / folder, ignore_errors=True)
        truth = generate(load_config(write_config(workdir, workdir / folder)), first, last, flows // days, seed,
                         Progress("generate"))
        record[folder] = {"generated_flows": truth["flows"], "raw_records": truth["records"],
                          "records_by_format": truth["records_by_format"]}
    record["generate_seconds"] = round(time.monotonic() - started, 1)
    marker.write_text(json.dumps(record, indent=1))
    return record


def stage_seconds(stderr: list[tuple[float, str]]) -> dict:
    """Per-layer stage seconds (summed over bronze's batches) from '[run] <stage> done:' lines,
    when the first '[run]' line came (JVM and session start) and when the last stage ended. Each layer but bronze starts
    with 'find changed days'."""
    stages = {layer: {} for layer in LAYERS}
    layer, silver_flows, first, last = 0, 0, None, 0.0
    for at, line in stderr:
        first = at if first is None and line.startswith("[run]") else first
        match = STAGE_LINE.match(line)
        if match:
            last = at
            name, rows, seconds = match.group(1), int(match.group(3).replace(",", "")), float(match.group(4))
            layer += name == "find changed days"
            # bronze repeats parse, validate and load once per batch
            stages[LAYERS[layer]][name] = stages[LAYERS[layer]].get(name, 0.0) + seconds
            silver_flows = rows if LAYERS[layer] == "silver" and name == "transform" else silver_flows
    return {**stages, "silver_input_flows": silver_flows, "startup_s": first or 0.0, "last_stage_end_s": last}


def flowlake_run(config: Path, workdir: Path, log: str) -> dict:
    """`flowlake run --stages bronze,silver,gold` timed: whole process, per layer, per stage."""
    print(f"flowlake run --config {config.name} --stages {STAGES} ...", file=sys.stderr, flush=True)
    run = timed([str(VENV_BIN / "flowlake"), "run", "--config", str(config), "--stages", STAGES],
                workdir, workdir / log, echo="[run]")
    stages = stage_seconds(run["stderr"])
    layers = {layer: round(sum(stages[layer].values()), 1) for layer in LAYERS}
    return {"total_s": round(run["seconds"], 1), "peak_rss_mib": run["peak_rss"] >> 20, "max_load": run["max_load"],
            "layers_s": layers, "stages_s": {layer: stages[layer] for layer in LAYERS},
            "silver_input_flows": stages["silver_input_flows"], "startup_s": round(stages["startup_s"], 1),
            "after_stages_s": round(run["seconds"] - stages["last_stage_end_s"], 1),
            "between_stages_s": round(stages["last_stage_end_s"] - stages["startup_s"] - sum(layers.values()), 1)}


def incremental_run(workdir: Path, config: Path) -> dict:
    """The next day's dumps land in raw/ and the pipeline runs again; they leave afterwards,
    so --keep finds the lake's dumps as generated."""
    landed = []
    for source in sorted((workdir / "next-day").rglob("*.gz")):
        target = workdir / "raw" / source.relative_to(workdir / "next-day")
        shutil.copy2(source, target)
        landed.append(target)
    try:
        return flowlake_run(config, workdir, "flowlake-incremental.log")
    finally:
        for target in landed:
            target.unlink()


def tenth_run(workdir: Path, flows: int, days: int, keep: bool) -> dict:
    """The full pipeline on a tenth of the flows over the same days, in workdir/tenth."""
    tenth = workdir / "tenth"
    ensure_dumps(tenth, flows // 10, days, keep)
    shutil.rmtree(tenth / "warehouse", ignore_errors=True)
    return flowlake_run(write_config(tenth, tenth / "raw"), tenth, "flowlake-run.log")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=20_000_000)
    parser.add_argument("--hundred-million", action="store_true", help="100 million flows (overrides --flows)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/flowlake-bench"))
    parser.add_argument("--keep", action="store_true", help="reuse dumps already generated with the same parameters")
    parser.add_argument("--skip-incremental", action="store_true", help="leave out the one-new-day run")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the 1x run of the memory check")
    parser.add_argument("--label", default="", help="recorded with the results (which code was measured)")
    args = parser.parse_args(argv)
    flows = 100_000_000 if args.hundred_million else args.flows
    workdir = args.workdir.resolve()
    load_before = os.getloadavg()
    dumps = ensure_dumps(workdir, flows, args.days, args.keep)
    config = write_config(workdir, workdir / "raw")
    raw_bytes = sum(p.stat().st_size for p in (workdir / "raw" / "flows").rglob("*.gz"))

    from flowlake.readers.delimited import NFDUMP_V1

    shutil.rmtree(workdir / "duckdb", ignore_errors=True)
    (workdir / "duckdb").mkdir()
    print("DuckDB: read raw flow files, write Parquet ...", file=sys.stderr, flush=True)
    duck = timed([str(VENV_BIN / "python"), "-c", DUCKDB_SCRIPT, str(workdir / "raw"), str(workdir / "duckdb"),
                  json.dumps(list(NFDUMP_V1.header))], workdir, workdir / "duckdb.log")
    duck_rows = json.loads(duck["stdout"].strip().splitlines()[-1])
    rows = duck_rows["nfdump_rows"] + duck_rows["goflow2_rows"]

    shutil.rmtree(workdir / "warehouse", ignore_errors=True)
    full = flowlake_run(config, workdir, "flowlake-run.log")
    incremental = None if args.skip_incremental else incremental_run(workdir, config)
    tenth = None if args.skip_memory else tenth_run(workdir, flows, args.days, args.keep)

    silver_s = full["layers_s"]["silver"]
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "label": args.label,
        "machine": {"nproc": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in os.getloadavg()]},
        "params": dumps["params"], "generated_flows": dumps["raw"]["generated_flows"],
        "raw_records": dumps["raw"]["raw_records"], "raw_flow_bytes": raw_bytes, "duckdb_rows": duck_rows,
        "rows": rows, "duckdb_s": round(duck["seconds"], 2), "duckdb_peak_rss_mib": duck["peak_rss"] >> 20,
        "duckdb_max_load": duck["max_load"], "full": full,
        "full_flows_per_s": round(rows / full["total_s"]),
        "silver_flows_per_s": round(full["silver_input_flows"] / silver_s) if silver_s else 0,
        "ratio_bronze_to_duckdb": round(full["layers_s"]["bronze"] / duck["seconds"], 1),
        "ratio_silver_to_duckdb": round(silver_s / duck["seconds"], 1),
        "ratio_full_to_duckdb": round(full["total_s"] / duck["seconds"], 1),
    }
    if incremental:
        result["incremental"] = incremental
        result["incremental_day_raw_records"] = dumps["next-day"]["raw_records"]
        result["ratio_incremental_to_full"] = round(incremental["total_s"] / full["total_s"], 3)
    if tenth:
        result["tenth"] = tenth
        result["ratio_peak_rss_10x_to_1x"] = round(full["peak_rss_mib"] / tenth["peak_rss_mib"], 2)
    result["machine"]["max_load"] = max(run["max_load"] for run in (duck, full, incremental, tenth) if run)
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(result) + "\n")

    def layers(run):
        return ", ".join(f"{layer} {run['layers_s'][layer]:.1f}" for layer in LAYERS)

    table = [
        ("raw flow records (DuckDB rows)", f"{rows:,}  (generated flows {result['generated_flows']:,}, "
                                           f"{raw_bytes / 2**20:,.0f} MiB gz, {args.days} days)"),
        ("DuckDB read + Parquet, s", f"{duck['seconds']:.2f}  (peak RSS {result['duckdb_peak_rss_mib']:,} MiB)"),
        ("flowlake raw -> gold, s", f"{full['total_s']:.1f}  ({result['full_flows_per_s']:,} flows/s; {layers(full)}; "
                                    f"start {full['startup_s']}, between {full['between_stages_s']}, "
                                    f"after {full['after_stages_s']}; peak RSS {full['peak_rss_mib']:,} MiB)"),
        *[(f"  {layer}, s", ", ".join(f"{k} {v:.1f}" for k, v in full["stages_s"][layer].items())) for layer in LAYERS],
        ("silver flows/s", f"{result['silver_flows_per_s']:,}  ({full['silver_input_flows']:,} bronze flows in)"),
        ("ratio to DuckDB", f"bronze {result['ratio_bronze_to_duckdb']}x (target 2), silver "
                            f"{result['ratio_silver_to_duckdb']}x, raw -> gold {result['ratio_full_to_duckdb']}x "
                            f"(target 3)"),
    ]
    if incremental:
        table.append(("one new day, s", f"{incremental['total_s']:.1f}  ({layers(incremental)}); "
                                        f"{result['ratio_incremental_to_full']:.3f} of the full run "
                                        f"(target 0.05 on 180 days)"))
    if tenth:
        table.append(("peak RSS 1x -> 10x, MiB", f"{tenth['peak_rss_mib']:,} -> {full['peak_rss_mib']:,}  "
                                                 f"({result['ratio_peak_rss_10x_to_1x']}x; 1x run "
                                                 f"{tenth['total_s']:.1f} s)"))
    table.append(("load average before / max / after", f"{load_before[0]:.2f} / {result['machine']['max_load']:.2f} / "
                                                       f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"))
    width = max(len(k) for k, _ in table)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in table))
    return result


if __name__ == "__main__":
    main()
