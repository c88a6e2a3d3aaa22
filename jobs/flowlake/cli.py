"""The `flowlake` command: `flowlake generate ...` and `flowlake run ...`.

`flowlake generate --config C --start D --end D [--flows-per-day N] [--seed S]` writes
synthetic dumps; `flowlake run --config C [--stages bronze]` processes every raw object not
yet ingested. `flowlake <command> --help` tells each command's options.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from flowlake.config import ConfigError, load_config
from flowlake.errors import PipelineStopped

STAGES = ("bronze",)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowlake run", description="Run pipeline stages on new raw objects.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--stages", default=",".join(STAGES),
                        help=f"comma-separated stages to run, of {', '.join(STAGES)}")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(unknown)}; this version has: {', '.join(STAGES)}")
    config = load_config(args.config)

    from flowlake.bronze.ingest import run_bronze
    from flowlake.progress import Progress
    from flowlake.session import build_session
    from flowlake.tables import table_exists

    progress = Progress("run")
    spark = build_session(config, "flowlake-run")
    try:
        result = run_bronze(spark, config, datetime.now(timezone.utc), progress)
        lines = [f"objects: {result.objects_seen} seen, {result.objects_new} new, {result.duplicates} duplicate "
                 f"deliveries, {result.unreadable} unreadable",
                 f"this run: {result.flow_rows:,} flows, {result.dns_rows:,} DNS records, "
                 f"{result.quarantined_rows:,} quarantined lines"]
        for table in ("flows", "dns", "quarantine", "ingested_files"):
            path = config.table_uri("bronze", table)
            rows = spark.read.format("delta").load(path).count() if table_exists(spark, path) else 0
            lines.append(f"bronze.{table:<15} {rows:>12,} rows  {path}")
        progress.summary(lines)
    finally:
        spark.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"generate", "run"}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        if argv[0] == "generate":
            from flowlake.generate.dumps import main as generate_main
            generate_main(argv[1:])
            return 0
        return run(argv[1:])
    except ConfigError as err:
        print(f"flowlake: config error: {err}", file=sys.stderr)
        return 2
    except PipelineStopped as err:
        print(f"flowlake: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
