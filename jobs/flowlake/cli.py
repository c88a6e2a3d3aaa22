"""The `flowlake` command.

  flowlake generate --config C --start D --end D [--flows-per-day N] [--seed S] [--gzip-bomb] [--formula-names]
      write synthetic dumps with planted ground truth
  flowlake run --config C [--stages bronze]
      process every raw object not yet ingested
  flowlake submit-args --config C
      print the spark-submit arguments that give a job flowlake's Spark settings
  flowlake report --config C --name trend|overseas|crypto --as-of D [--email] [--resend]
      render one report from gold to reports_uri/<name>/<period>/, and mail it once per period
  flowlake whatif --config C --catalog FILE [--geo-source iptocc|geoip2fast] --from D --to D
      rebuild silver and gold for the window in scratch, beside the published gold (HTML, CSV)
  flowlake report --config C --reproduce FOLDER
      render the delivery in FOLDER (<reports_uri>/<name>/<period>) again from the table versions
      its manifest.json recorded, into FOLDER/reproduced/, and say which files differ
  flowlake maintain --config C [--as-of D]
      OPTIMIZE and VACUUM every table, quarantine housekeeping, table sizes
  flowlake register --config C
      register every Delta table of the warehouse as <layer>.<table> in the SQL catalog
  flowlake sql --config C [spark-sql or beeline options, e.g. -e "SELECT ..."]
      SQL on the catalog: spark-sql, or beeline on the Thrift server while it runs
  flowlake thrift start|stop|serve --config C
      the Spark Thrift server (JDBC, HiveServer2 protocol) on 127.0.0.1:<catalog.thrift_port>

`flowlake <command> --help` tells each command's options.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from flowlake.config import ConfigError, load_config
from flowlake.errors import PipelineStopped
from flowlake.pipeline import STAGES, run_stages


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

    run_stages(config, stages, "flowlake-run")
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
    from flowlake.catalog import register as register_tables

    for name in register_tables(load_config(args.config)):
        print(name)
    return 0


def sql(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowlake sql", allow_abbrev=False,
                                     description="spark-sql on the SQL catalog; other options go to the client.")
    parser.add_argument("--config", required=True)
    args, client_args = parser.parse_known_args(argv)
    from flowlake.catalog import open_sql

    open_sql(load_config(args.config), client_args)
    return 0


def thrift(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowlake thrift",
                                     description="Start, stop or run in the foreground the Spark Thrift server.")
    parser.add_argument("action", choices=("start", "stop", "serve"))
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    from flowlake import catalog

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"generate", "run", "submit-args", "report", "whatif", "maintain", "register", "sql", "thrift"}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        if argv[0] == "generate":
            from flowlake.generate.dumps import main as generate_main
            generate_main(argv[1:])
            return 0
        if argv[0] == "submit-args":
            return submit_args(argv[1:])
        if argv[0] == "report":
            from flowlake.reports.job import main as report_main
            report_main(argv[1:])
            return 0
        if argv[0] == "whatif":
            from flowlake.silver.catalog import CatalogError
            from flowlake.whatif import main as whatif_main
            try:
                whatif_main(argv[1:])
            except CatalogError as err:
                print(f"flowlake: catalog error: {err}", file=sys.stderr)
                return 2
            return 0
        if argv[0] == "maintain":
            from flowlake.maintenance import main as maintain_main
            maintain_main(argv[1:])
            return 0
        catalog_commands = {"register": register, "sql": sql, "thrift": thrift}
        if argv[0] in catalog_commands:
            from flowlake.catalog import CatalogError
            try:
                return catalog_commands[argv[0]](argv[1:])
            except CatalogError as err:
                print(f"flowlake: {err}", file=sys.stderr)
                return 1
        return run(argv[1:])
    except ConfigError as err:
        print(f"flowlake: config error: {err}", file=sys.stderr)
        return 2
    except PipelineStopped as err:
        print(f"flowlake: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
