"""`make bench`: flowlake beside DuckDB on the same raw files, in the two shapes issue 18 names.
A benchmark, not a test: nothing asserts; every figure is printed beside its target.

The six-month shape (what users live in): 2017-07-01 .. 2017-12-31 at 2,550 generated flows a
day, config/flowlake.yaml's ranges without `satgate` (two ranges). The generator writes three
small gzip objects a day (nfdump CSV, GoFlow2 JSON, passive DNS): 552 objects, not the ~360 of
issue 18 (two a day): its passive-DNS object makes the third. On it:
  - DuckDB's parse and DuckDB's whole raw -> gold script (bench/duckdb_pipeline.py);
  - one `flowlake run` (the default stages: bronze, silver, gold, reports) on a fresh
    warehouse, whole-process wall time (target 60 s) and each stage's seconds;
  - how far DuckDB's two gold tables agree with flowlake's (days with the same flows and bytes,
    (day, service) keys in both, rows on one side only): the script does the same work;
  - the same command again with nothing new (target 15 s);
  - the next day's three objects land and the same command runs (target 1/20 of the full run);
  - `--stages bronze` on the first five objects into a fresh warehouse (target 30 s).
The big shape (issue 8): `--flows` generated flows (default 20 million; `--hundred-million`)
over `--days` days, config/flowlake.yaml's three ranges. On it:
  - DuckDB's parse and whole-pipeline script; `flowlake run --stages bronze,silver,gold` on a
    fresh warehouse: bronze at most 2x DuckDB's parse, raw -> gold at most 5x DuckDB's script;
  - one new day on that lake (its ratio to the full run);
  - the full run on a tenth of the flows over the same days: peak memory 1x -> 10x at most 1.2.
Peak memory is the RSS of the whole process tree (Python driver, JVM, Python workers), sampled
with psutil every 0.25 s, with what each of the three held at that moment and at its own peak;
the 1-minute load average is sampled beside it, since the machine is shared. Each shape's figures are printed as a table and appended as one JSON line (`shape`:
six_months or big) to bench/results.jsonl.

Run (from the repository root, with the project's venv; `make bench` runs the first):
    .venv/bin/python bench/raw_to_gold.py                                  # both shapes, 20M flows
    .venv/bin/python bench/raw_to_gold.py --flows 2000000 --days 20        # a reduced big shape
    .venv/bin/python bench/raw_to_gold.py --skip-big --keep                # the six-month shape alone
    .venv/bin/python bench/raw_to_gold.py --skip-six-months --skip-incremental --skip-memory --label before
--keep reuses dumps generated with the same parameters. Data goes under --workdir (default
/tmp/flowlake-bench): six-months/ and big/, each with raw/ and next-day/ (dumps), warehouse/
(wiped each run), duckdb-parse/ and duckdb-pipeline/ (Parquet, wiped), the configs, params.json
and each run's stderr log; big/tenth/ holds the 1x run, six-months/five/ the five objects.
Generation uses the default weekly profile (weekends carry 60% of a weekday's flows) and adds
5% exporter reply records, so the raw record count differs from the flows asked for; both are
reported.
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

import psutil
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
RESULTS = Path(__file__).with_name("results.jsonl")
DUCKDB_SCRIPT = Path(__file__).with_name("duckdb_pipeline.py")
START, SEED = date(2017, 7, 1), 7
LAYERS = ("bronze", "silver", "gold", "reports")
BIG_STAGES = "bronze,silver,gold"
STAGE_LINE = re.compile(r"^\[run\] (.+?) done: ([\d,]+) objects, ([\d,]+) rows, .*?([\d.]+)s$")
# A report's stage line names its period (render trend 2017-07-01_2017-12-31): one name per report.
REPORT_PERIOD = re.compile(r" \d{4}-\d{2}(-\d{2})?(_\d{4}-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class Shape:
    """Generated dumps: `days` days from START at `flows_per_day`, the config's ranges but `left_out`."""

    name: str
    days: int
    flows_per_day: int
    left_out: tuple[str, ...] = ()


SIX_MONTHS = Shape("six_months", days=(date(2017, 12, 31) - START).days + 1, flows_per_day=2550,
                   left_out=("satgate",))
FIVE_OBJECTS = 5


# Which part of a run a process of its tree is, for the memory breakdown: Spark's JVM, the
# Python workers the JVM starts (pyspark.daemon and its forks), the driver's own Python.
PROCESS_KINDS = ("driver", "jvm", "python_workers", "other")


def process_kind(name: str, cmdline: list[str], is_root: bool) -> str:
    """PROCESS_KINDS' name for one process of a run's tree."""
    if is_root:
        return "driver"
    if name == "java" or (cmdline and cmdline[0].endswith("/java")):
        return "jvm"
    if any(part.startswith("pyspark.") for part in cmdline):  # -m pyspark.daemon, -m pyspark.worker
        return "python_workers"
    return "other"


def rss_by_kind(processes: list[tuple[str, list[str], int, bool]]) -> dict[str, int]:
    """Bytes of RSS per PROCESS_KINDS from (name, cmdline, rss, is_root) of each process."""
    totals = dict.fromkeys(PROCESS_KINDS, 0)
    for name, cmdline, rss, is_root in processes:
        totals[process_kind(name, cmdline, is_root)] += rss
    return totals


def tree_rss(root: psutil.Process) -> dict[str, int]:
    """`rss_by_kind` of `root` and its descendants now. One that has exited since it was listed,
    or is a zombie (no command line; Spark's children are reaped late), holds no memory and is
    left out: failing the whole sample for it would leave the peak at the driver's first MiBs."""
    processes = []
    for process in [root] + root.children(recursive=True):
        try:
            processes.append((process.name(), process.cmdline(), process.memory_info().rss, process == root))
        except psutil.Error:
            continue
    return rss_by_kind(processes)


def timed(cmd: list[str], cwd: Path, log: Path, echo: str | None = None) -> dict:
    """Run cmd to completion: wall seconds, stdout, stderr lines, peak RSS of its process tree
    (and what each PROCESS_KINDS held at that moment, and at its own peak) and the highest
    1-minute load average seen while it ran."""
    peak, load, done = [0], [os.getloadavg()[0]], threading.Event()
    at_peak, kind_peaks = dict.fromkeys(PROCESS_KINDS, 0), dict.fromkeys(PROCESS_KINDS, 0)

    def sample(proc: psutil.Process):
        while not done.is_set():
            try:
                kinds = tree_rss(proc)
                total = sum(kinds.values())
                if total > peak[0]:
                    peak[0] = total
                    at_peak.update(kinds)
                for kind, rss in kinds.items():
                    kind_peaks[kind] = max(kind_peaks[kind], rss)
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
            "rss_at_peak_mib": {k: v >> 20 for k, v in at_peak.items()},
            "rss_peak_by_kind_mib": {k: v >> 20 for k, v in kind_peaks.items()},
            "max_load": round(load[0], 2)}


def write_config(folder: Path, raw: Path, shape: Shape) -> Path:
    """A config beside `folder`'s warehouse reading `raw`, with the shape's ranges."""
    base = yaml.safe_load((ROOT / "config" / "flowlake.yaml").read_text())
    config = {"raw_uri": f"file://{raw}", "warehouse_uri": f"file://{folder}/warehouse",
              "reports_uri": f"file://{folder}/reports",
              "monitored_ranges": [r for r in base["monitored_ranges"] if r["name"] not in shape.left_out],
              "sources": base["sources"]}
    path = folder / f"{raw.name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def ensure_dumps(workdir: Path, shape: Shape, keep: bool) -> dict:
    """The lake's dumps in raw/ and the next day's in next-day/, generated unless --keep finds
    params.json recording these parameters."""
    from flowlake.config import load_config
    from flowlake.generate.dumps import generate
    from flowlake.progress import Progress

    workdir.mkdir(parents=True, exist_ok=True)
    params = {"flows": shape.flows_per_day * shape.days, "days": shape.days, "flows_per_day": shape.flows_per_day,
              "start": START.isoformat(), "seed": SEED, "ranges_left_out": list(shape.left_out)}
    marker = workdir / "params.json"
    if keep and marker.exists() and json.loads(marker.read_text())["params"] == params:
        print(f"reusing dumps in {workdir} (same parameters)", file=sys.stderr)
        return json.loads(marker.read_text())
    marker.unlink(missing_ok=True)
    record = {"params": params}
    started = time.monotonic()
    last = START + timedelta(days=shape.days - 1)
    for folder, first, end, seed in (("raw", START, last, SEED), ("next-day", last + timedelta(days=1),
                                                                   last + timedelta(days=1), SEED + 1)):
        shutil.rmtree(workdir / folder, ignore_errors=True)
        truth = generate(load_config(write_config(workdir, workdir / folder, shape)), first, end, shape.flows_per_day,
                         seed, Progress("generate"))
        record[folder] = {"generated_flows": truth["flows"], "raw_records": truth["records"],
                          "records_by_format": truth["records_by_format"],
                          "objects": sum(1 for _ in (workdir / folder).rglob("*.gz"))}
    record["generate_seconds"] = round(time.monotonic() - started, 1)
    marker.write_text(json.dumps(record, indent=1))
    return record


def stage_seconds(stderr: list[tuple[float, str]]) -> dict:
    """Per-layer stage seconds (summed over bronze's and silver's batches and over the reports) from
    '[run] <stage> done:' lines, when the first '[run]' line came (JVM and session start) and
    when the last stage ended. Silver and gold start with 'find changed days', reports with a
    'render' line."""
    stages = {layer: {} for layer in LAYERS}
    layer, silver_flows, first, last = 0, 0, None, 0.0
    for at, line in stderr:
        first = at if first is None and line.startswith("[run]") else first
        match = STAGE_LINE.match(line)
        if match:
            last = at
            name, rows, seconds = match.group(1), int(match.group(3).replace(",", "")), float(match.group(4))
            layer += name == "find changed days" or (name.startswith("render") and LAYERS[layer] != "reports")
            name = REPORT_PERIOD.sub("", name)
            # bronze and silver repeat their stages once per batch, reports render and deliver once per report
            stages[LAYERS[layer]][name] = round(stages[LAYERS[layer]].get(name, 0.0) + seconds, 1)
            silver_flows += rows if LAYERS[layer] == "silver" and name == "transform" else 0
    return {**stages, "silver_input_flows": silver_flows, "startup_s": first or 0.0, "last_stage_end_s": last}


def flowlake_run(config: Path, workdir: Path, log: str, stages: str | None = None, *options: str) -> dict:
    """`flowlake run` (the given stages, else the default ones; `options` such as --always) timed:
    whole process, per layer, per stage."""
    command = ([str(VENV_BIN / "flowlake"), "run", "--config", str(config)] + (["--stages", stages] if stages else [])
               + list(options))
    print(" ".join(command[1:]), "...", file=sys.stderr, flush=True)
    run = timed(command, workdir, workdir / log, echo="[run]")
    stages_s = stage_seconds(run["stderr"])
    layers = {layer: round(sum(stages_s[layer].values()), 1) for layer in LAYERS if stages_s[layer]}
    return {"total_s": round(run["seconds"], 1), "peak_rss_mib": run["peak_rss"] >> 20, "max_load": run["max_load"],
            "rss_at_peak_mib": run["rss_at_peak_mib"], "rss_peak_by_kind_mib": run["rss_peak_by_kind_mib"],
            "layers_s": layers, "stages_s": {layer: stages_s[layer] for layer in layers},
            "silver_input_flows": stages_s["silver_input_flows"], "startup_s": round(stages_s["startup_s"], 1),
            "after_stages_s": round(run["seconds"] - stages_s["last_stage_end_s"], 1),
            "between_stages_s": round(stages_s["last_stage_end_s"] - stages_s["startup_s"] - sum(layers.values()), 1)}


def duckdb_run(mode: str, config: Path, workdir: Path) -> dict:
    """bench/duckdb_pipeline.py MODE timed in its own process, its Parquet in workdir/duckdb-MODE."""
    out = workdir / f"duckdb-{mode}"
    shutil.rmtree(out, ignore_errors=True)
    print(f"DuckDB {mode} ...", file=sys.stderr, flush=True)
    run = timed([str(VENV_BIN / "python"), str(DUCKDB_SCRIPT), mode, "--config", str(config), "--out", str(out)],
                workdir, workdir / f"duckdb-{mode}.log")
    return {"total_s": round(run["seconds"], 2), "peak_rss_mib": run["peak_rss"] >> 20, "max_load": run["max_load"],
            "rows": json.loads(run["stdout"].strip().splitlines()[-1]), "out": str(out)}


def incremental_run(workdir: Path, config: Path, stages: str | None = None) -> dict:
    """The next day's dumps land in raw/ and the pipeline runs again; they leave afterwards,
    so --keep finds the lake's dumps as generated."""
    landed = []
    for source in sorted((workdir / "next-day").rglob("*.gz")):
        target = workdir / "raw" / source.relative_to(workdir / "next-day")
        shutil.copy2(source, target)
        landed.append(target)
    try:
        return flowlake_run(config, workdir, "flowlake-incremental.log", stages)
    finally:
        for target in landed:
            target.unlink()


def delta_files(table: Path) -> list[str]:
    """The data files of a Delta table's latest version, from its log: the last checkpoint's
    files, then the JSON commits after it (read here without Spark, and without DuckDB's delta
    extension, which cannot be downloaded on this machine)."""
    log, files, checkpoint = table / "_delta_log", set(), -1
    if (log / "_last_checkpoint").exists():
        checkpoint = json.loads((log / "_last_checkpoint").read_text())["version"]
        adds = pq.read_table(log / f"{checkpoint:020d}.checkpoint.parquet", columns=["add"]).column("add")
        files = {add["path"] for add in adds.to_pylist() if add}
    for commit in sorted(log.glob("*.json")):
        if int(commit.stem) > checkpoint:
            for action in map(json.loads, commit.read_text().splitlines()):
                files |= {action["add"]["path"]} if "add" in action else set()
                files -= {action["remove"]["path"]} if "remove" in action else set()
    return [str(table / unquote(path)) for path in sorted(files)]


def gold_agreement(warehouse: Path, duckdb_out: Path) -> dict:
    """How far DuckDB's two gold tables agree with flowlake's: days whose flows and bytes totals
    are equal, (day, service) keys of service usage found in both, and rows (every column
    DuckDB writes) found on one side only."""
    import duckdb

    con = duckdb.connect()
    agreement = {}
    for table in ("service_usage_daily", "country_activity_daily"):
        con.execute(f"CREATE VIEW flowlake_{table} AS SELECT * REPLACE (day::DATE AS day) FROM read_parquet("
                    f"{delta_files(warehouse / 'gold' / table)}, hive_partitioning = true)")
        con.execute(f"CREATE VIEW duckdb_{table} AS SELECT * REPLACE (day::DATE AS day) FROM read_parquet("
                    f"'{duckdb_out / table}/**/*.parquet', hive_partitioning = true)")
        agreement[f"{table}_days_equal"], agreement[f"{table}_days"] = con.execute(f"""
          WITH f AS (SELECT day, sum(flows) AS flows, sum(bytes) AS bytes FROM flowlake_{table} GROUP BY day),
               d AS (SELECT day, sum(flows) AS flows, sum(bytes) AS bytes FROM duckdb_{table} GROUP BY day)
          SELECT count(*) FILTER (WHERE f.flows = d.flows AND f.bytes = d.bytes), count(*)
          FROM f FULL JOIN d USING (day)""").fetchone()
        columns = ", ".join(row[0] for row in con.execute(f"DESCRIBE duckdb_{table}").fetchall())
        flowlake_rows, duckdb_rows = (f"SELECT {columns} FROM {side}_{table}" for side in ("flowlake", "duckdb"))
        agreement[f"{table}_rows"] = con.execute(f"SELECT count(*) FROM flowlake_{table}").fetchone()[0]
        agreement[f"{table}_rows_one_side_only"] = con.execute(
            f"SELECT (SELECT count(*) FROM ({flowlake_rows} EXCEPT ALL {duckdb_rows}))"
            f" + (SELECT count(*) FROM ({duckdb_rows} EXCEPT ALL {flowlake_rows}))").fetchone()[0]
    agreement["day_service_keys_in_both"], agreement["day_service_keys"] = con.execute("""
      WITH f AS (SELECT DISTINCT day, service FROM flowlake_service_usage_daily),
           d AS (SELECT DISTINCT day, service FROM duckdb_service_usage_daily)
      SELECT count(*) FILTER (WHERE f.day IS NOT NULL AND d.day IS NOT NULL), count(*)
      FROM f FULL JOIN d USING (day, service)""").fetchone()
    return agreement


def five_objects_run(workdir: Path) -> dict:
    """`--stages bronze` on the lake's first five objects (by day), in workdir/five, a fresh warehouse."""
    five = workdir / "five"
    shutil.rmtree(five, ignore_errors=True)
    objects = sorted((workdir / "raw").rglob("*.gz"), key=lambda p: (p.name, str(p)))[:FIVE_OBJECTS]
    for source in objects:
        target = five / "raw" / source.relative_to(workdir / "raw")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return flowlake_run(write_config(five, five / "raw", SIX_MONTHS), five, "flowlake-five.log", "bronze")


def machine(load_before: tuple[float, ...], runs: list[dict]) -> dict:
    return {"nproc": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
            "max_load": max(run["max_load"] for run in runs)}


def memory_breakdown(run: dict) -> str:
    """What each kind of process held at the run's peak, and its own peak beside it."""
    return ", ".join(f"{kind} {run['rss_at_peak_mib'][kind]:,} (own peak {run['rss_peak_by_kind_mib'][kind]:,})"
                     for kind in PROCESS_KINDS if run["rss_peak_by_kind_mib"][kind])


def layers(run: dict) -> str:
    return ", ".join(f"{layer} {seconds:.1f}" for layer, seconds in run["layers_s"].items())


def stage_rows(run: dict) -> list[tuple[str, str, str]]:
    return [(f"  {layer}, s", ", ".join(f"{k} {v:.1f}" for k, v in stages.items()), "")
            for layer, stages in run["stages_s"].items()]


def versus(value: float, target: float, unit: str = "") -> str:
    """'at most {target}{unit}: met' or '...: not met'."""
    return f"<= {target}{unit}: {'met' if value <= target else 'NOT met'}"


def record(result: dict) -> None:
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(result) + "\n")


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    """One shape's figures: name, value, and the target beside it where it has one."""
    width = max(len(name) for name, _, _ in rows)
    print(f"\n{title}")
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value}" + (f"   [target {target}]" if target else ""))


def six_months_shape(workdir: Path, keep: bool, label: str) -> dict:
    load_before = os.getloadavg()
    dumps = ensure_dumps(workdir, SIX_MONTHS, keep)
    config = write_config(workdir, workdir / "raw", SIX_MONTHS)
    parse = duckdb_run("parse", config, workdir)
    pipeline = duckdb_run("pipeline", config, workdir)
    shutil.rmtree(workdir / "warehouse", ignore_errors=True)
    shutil.rmtree(workdir / "reports", ignore_errors=True)
    full = flowlake_run(config, workdir, "flowlake-run.log")
    agreement = gold_agreement(workdir / "warehouse", Path(pipeline["out"]))
    noop = flowlake_run(config, workdir, "flowlake-noop.log")
    # The same with Spark started: what each stage costs when it finds nothing (the DAGs' tasks).
    noop_spark = flowlake_run(config, workdir, "flowlake-noop-always.log", None, "--always")
    new_day = incremental_run(workdir, config)
    five = five_objects_run(workdir)
    result = {"shape": SIX_MONTHS.name, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "label": label, "machine": machine(load_before, [parse, pipeline, full, noop, noop_spark, new_day, five]),
              "params": dumps["params"], "objects": dumps["raw"]["objects"],
              "generated_flows": dumps["raw"]["generated_flows"], "raw_records": dumps["raw"]["raw_records"],
              "raw_bytes": sum(p.stat().st_size for p in (workdir / "raw").rglob("*.gz")),
              "duckdb_parse": parse, "duckdb_pipeline": pipeline, "gold_agreement": agreement, "full": full,
              "noop": noop, "noop_always": noop_spark, "new_day": new_day, "five_objects": five,
              "ratio_new_day_to_full": round(new_day["total_s"] / full["total_s"], 3)}
    record(result)
    a = agreement
    print_table(f"six-month shape: {result['objects']} objects (3 a day: nfdump CSV, GoFlow2 JSON, passive DNS; "
                f"not issue 18's ~360, 2 a day), {dumps['raw']['generated_flows']:,} flows, "
                f"{result['raw_records']:,} raw records, {result['raw_bytes'] / 2**20:.0f} MiB gz, "
                f"{SIX_MONTHS.days} days, ranges {', '.join(SIX_MONTHS.left_out)} left out", [
        ("DuckDB parse, s", f"{parse['total_s']:.2f}  ({parse['rows']})", ""),
        ("DuckDB raw -> gold, s", f"{pipeline['total_s']:.2f}  ({pipeline['rows']})", ""),
        ("flowlake run raw -> reports, s", f"{full['total_s']:.1f}  ({layers(full)}; start {full['startup_s']}, "
                                            f"after {full['after_stages_s']}; peak RSS {full['peak_rss_mib']:,} MiB)",
         versus(full["total_s"], 60, " s")),
        *stage_rows(full),
        ("gold agreement, DuckDB vs flowlake",
         f"days with equal flows and bytes: usage {a['service_usage_daily_days_equal']}/{a['service_usage_daily_days']},"
         f" country {a['country_activity_daily_days_equal']}/{a['country_activity_daily_days']}; (day, service) keys "
         f"in both: {a['day_service_keys_in_both']:,}/{a['day_service_keys']:,}; rows on one side only: usage "
         f"{a['service_usage_daily_rows_one_side_only']:,} of {a['service_usage_daily_rows']:,}, country "
         f"{a['country_activity_daily_rows_one_side_only']:,} of {a['country_activity_daily_rows']:,}", ""),
        ("no-op run, s", f"{noop['total_s']:.1f}  (nothing new since the last run: Spark not started)",
         versus(noop["total_s"], 15, " s")),
        ("no-op run --always, s", f"{noop_spark['total_s']:.1f}  ({layers(noop_spark)}; start {noop_spark['startup_s']})",
         ""),
        ("one new day (3 objects), s", f"{new_day['total_s']:.1f}  ({layers(new_day)}); "
                                       f"{result['ratio_new_day_to_full']:.3f} of the full run",
         versus(result["ratio_new_day_to_full"], 0.05, " (1/20)")),
        ("bronze of 5 objects, fresh warehouse, s", f"{five['total_s']:.1f}  ({layers(five)}; start {five['startup_s']})",
         versus(five["total_s"], 30, " s")),
        ("load average before / max / after", f"{load_before[0]:.2f} / {result['machine']['max_load']:.2f} / "
                                              f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", ""),
    ])
    return result


def big_shape(workdir: Path, shape: Shape, args: argparse.Namespace) -> dict:
    load_before = os.getloadavg()
    dumps = ensure_dumps(workdir, shape, args.keep)
    config = write_config(workdir, workdir / "raw", shape)
    parse = duckdb_run("parse", config, workdir)
    pipeline = duckdb_run("pipeline", config, workdir)
    shutil.rmtree(workdir / "warehouse", ignore_errors=True)
    full = flowlake_run(config, workdir, "flowlake-run.log", BIG_STAGES)
    new_day = None if args.skip_incremental else incremental_run(workdir, config, BIG_STAGES)
    tenth = None
    if not args.skip_memory:
        tenth_shape = Shape(shape.name, shape.days, shape.flows_per_day // 10, shape.left_out)
        ensure_dumps(workdir / "tenth", tenth_shape, args.keep)
        shutil.rmtree(workdir / "tenth" / "warehouse", ignore_errors=True)
        tenth = flowlake_run(write_config(workdir / "tenth", workdir / "tenth" / "raw", tenth_shape), workdir / "tenth",
                             "flowlake-run.log", BIG_STAGES)
    rows = parse["rows"]["nfdump_flows"] + parse["rows"]["goflow2_flows"]
    silver_s = full["layers_s"]["silver"]
    result = {"shape": "big", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "label": args.label,
              "machine": machine(load_before, [run for run in (parse, pipeline, full, new_day, tenth) if run]),
              "params": dumps["params"], "generated_flows": dumps["raw"]["generated_flows"],
              "raw_records": dumps["raw"]["raw_records"],
              "raw_flow_bytes": sum(p.stat().st_size for p in (workdir / "raw" / "flows").rglob("*.gz")),
              "rows": rows, "duckdb_parse": parse, "duckdb_pipeline": pipeline, "full": full,
              "full_flows_per_s": round(rows / full["total_s"]),
              "silver_flows_per_s": round(full["silver_input_flows"] / silver_s) if silver_s else 0,
              "ratio_bronze_to_duckdb_parse": round(full["layers_s"]["bronze"] / parse["total_s"], 1),
              "ratio_full_to_duckdb_pipeline": round(full["total_s"] / pipeline["total_s"], 1)}
    if new_day:
        result["new_day"] = new_day
        result["ratio_new_day_to_full"] = round(new_day["total_s"] / full["total_s"], 3)
    if tenth:
        result["tenth"] = tenth
        result["ratio_peak_rss_10x_to_1x"] = round(full["peak_rss_mib"] / tenth["peak_rss_mib"], 2)
    record(result)
    table = [
        ("DuckDB parse, s", f"{parse['total_s']:.2f}  ({parse['rows']}; peak RSS {parse['peak_rss_mib']:,} MiB)", ""),
        ("DuckDB raw -> gold, s", f"{pipeline['total_s']:.2f}  ({pipeline['rows']}; "
                                  f"peak RSS {pipeline['peak_rss_mib']:,} MiB)", ""),
        ("flowlake raw -> gold, s", f"{full['total_s']:.1f}  ({result['full_flows_per_s']:,} flows/s; {layers(full)}; "
                                    f"start {full['startup_s']}, between {full['between_stages_s']}, "
                                    f"after {full['after_stages_s']}; peak RSS {full['peak_rss_mib']:,} MiB)", ""),
        *stage_rows(full),
        ("silver flows/s", f"{result['silver_flows_per_s']:,}  ({full['silver_input_flows']:,} bronze flows in)", ""),
        ("bronze / DuckDB parse", f"{result['ratio_bronze_to_duckdb_parse']}x",
         versus(result["ratio_bronze_to_duckdb_parse"], 2, "x")),
        ("raw -> gold / DuckDB raw -> gold", f"{result['ratio_full_to_duckdb_pipeline']}x",
         versus(result["ratio_full_to_duckdb_pipeline"], 5, "x")),
    ]
    if new_day:
        table.append(("one new day, s", f"{new_day['total_s']:.1f}  ({layers(new_day)}); "
                                        f"{result['ratio_new_day_to_full']:.3f} of the full run ({shape.days} days)", ""))
    if tenth:
        table.append(("peak RSS 1x -> 10x, MiB", f"{tenth['peak_rss_mib']:,} -> {full['peak_rss_mib']:,}  "
                                                 f"(1x run {tenth['total_s']:.1f} s)",
                      versus(result["ratio_peak_rss_10x_to_1x"], 1.2, "x")))
        for run, size in ((tenth, "1x"), (full, "10x")):
            table.append((f"  at the {size} peak, MiB", memory_breakdown(run), ""))
    table.append(("load average before / max / after", f"{load_before[0]:.2f} / {result['machine']['max_load']:.2f} / "
                                                       f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", ""))
    print_table(f"big shape: {rows:,} raw flow records (generated flows {result['generated_flows']:,}, "
                f"{result['raw_flow_bytes'] / 2**20:,.0f} MiB gz, {shape.days} days)", table)
    return result


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=20_000_000, help="the big shape's flows")
    parser.add_argument("--hundred-million", action="store_true", help="100 million flows (overrides --flows)")
    parser.add_argument("--days", type=int, default=30, help="the big shape's days")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/flowlake-bench"))
    parser.add_argument("--keep", action="store_true", help="reuse dumps already generated with the same parameters")
    parser.add_argument("--skip-six-months", action="store_true", help="leave out the six-month shape")
    parser.add_argument("--skip-big", action="store_true", help="leave out the big shape")
    parser.add_argument("--skip-incremental", action="store_true", help="big shape: leave out the one-new-day run")
    parser.add_argument("--skip-memory", action="store_true", help="big shape: leave out the 1x run of the memory check")
    parser.add_argument("--label", default="", help="recorded with the results (which code was measured)")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    results = []
    if not args.skip_six_months:
        results.append(six_months_shape(workdir / "six-months", args.keep, args.label))
    if not args.skip_big:
        flows = 100_000_000 if args.hundred_million else args.flows
        results.append(big_shape(workdir / "big", Shape("big", args.days, flows // args.days), args))
    return results


if __name__ == "__main__":
    main()
