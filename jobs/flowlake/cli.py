"""The `flowlake` command.

  flowlake generate --config C --start D --end D [--flows-per-day N] [--seed S]
      write synthetic dumps with planted ground truth
  flowlake run --config C [--stages bronze]
      process every raw object not yet ingested
  flowlake submit-args --config C
      print the spark-submit arguments that give a job flowlake's Spark settings
  flowlake maintain --config C [--as-of D]
      OPTIMIZE and VACUUM every table, quarantine housekeeping, table sizes

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"generate", "run", "submit-args", "maintain"}
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
        if argv[0] == "maintain":
            from flowlake.maintenance import main as maintain_main
            maintain_main(argv[1:])
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
