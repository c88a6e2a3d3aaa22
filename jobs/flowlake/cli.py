"""The `flowlake` command.

  flowlake generate --config C --start D --end D [--flows-per-day N] [--seed S] [--gzip-bomb] [--formula-names]
      write synthetic dumps with planted ground truth
  flowlake run --config C [--stages bronze]
      process every raw object not yet ingested
  flowlake submit-args --config C
      print the spark-submit arguments that give a job flowlake's Spark settings
  flowlake report --config C [--name trend|overseas|crypto --as-of D [--email] [--resend]]
      render one report from gold to reports_uri/<name>/<period>/, and mail it once per period
      (without --name: all three as of gold's last day, not mailed)
  flowlake whatif --config C --catalog FILE [--geo-source iptocc|geoip2fast] --from D --to D
      rebuild silver and gold for the window in scratch, beside the published gold (HTML, CSV)
  flowlake report --config C --reproduce FOLDER
      render the delivery in FOLDER (<reports_uri>/<name>/<period>) again from the table versions
      its manifest.json recorded, into FOLDER/reproduced/, and say which files differ
  flowlake maintain --config C [--as-of D]
      OPTIMIZE and VACUUM every table, quarantine housekeeping, table sizes
  flowlake stage --stage NAME --config C [the stage's options]
      any stage of flowlake.stages by its name (what jobs/run_stage.py runs under spark-submit)
  flowlake register --config C
      register every Delta table of the warehouse as <layer>.<table> in the SQL catalog
  flowlake sql --config C [spark-sql or beeline options, e.g. -e "SELECT ..."]
      SQL on the catalog: spark-sql, or beeline on the Thrift server while it runs
  flowlake thrift start|stop|serve --config C
      the Spark Thrift server (JDBC, HiveServer2 protocol) on 127.0.0.1:<catalog.thrift_port>

`flowlake <command> --help` tells each command's options. Every command is in `COMMANDS` below;
every stage runs through `flowlake.runner`, and stops with a message and an exit status from
`flowlake.errors.exit_status`: 2 for input to correct, 1 for a run that stopped.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from flowlake.config import load_config
from flowlake.errors import InputRefused, PipelineStopped, exit_status
from flowlake.runner import any_stage, run_pipeline, stage_command
from flowlake.stages import STAGES


def generate(argv: list[str]) -> int:
    from flowlake.generate.dumps import main as generate_main

    generate_main(argv)
    return 0


def submit_args(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowlake submit-args",
                                     description="Print spark-submit arguments for flowlake's Spark settings.")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    from flowlake.session import spark_submit_args

    print(shlex.join(spark_submit_args(load_config(args.config))))
    return 0


def register(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowlake register",
                                     description="Register the warehouse's Delta tables in the SQL catalog.")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    from flowlake.sql_catalog import register as register_tables

    for name in register_tables(load_config(args.config)):
        print(name)
    return 0


def sql(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowlake sql", allow_abbrev=False,
                                     description="spark-sql on the SQL catalog; other options go to the client.")
    parser.add_argument("--config", required=True)
    args, client_args = parser.parse_known_args(argv)
    from flowlake.sql_catalog import open_sql

    open_sql(load_config(args.config), client_args)
    return 0


def thrift(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowlake thrift",
                                     description="Start, stop or run in the foreground the Spark Thrift server.")
    parser.add_argument("action", choices=("start", "stop", "serve"))
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    from flowlake import sql_catalog as catalog

    config = load_config(args.config)
    if args.action == "serve":
        catalog.serve_thrift(config)
    elif args.action == "start":
        pid = catalog.start_thrift(config)
        print(f"Thrift server (pid {pid}) at {catalog.jdbc_url(config, 'gold')}")
    elif catalog.stop_thrift(config):
        print("Thrift server stopped")
    else:
        print("no Thrift server was running for this config")
    return 0


# Every command, and the function that runs it: `report`, `maintain` and `whatif` from the stages
# that name them (flowlake.stages).
COMMANDS = {
    "generate": generate,
    "run": run_pipeline,
    "submit-args": submit_args,
    **{stage.command: stage_command(stage) for stage in STAGES if stage.command},
    "stage": any_stage,
    "register": register,
    "sql": sql,
    "thrift": thrift,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except (InputRefused, PipelineStopped) as err:
        return exit_status(err)


if __name__ == "__main__":
    sys.exit(main())
