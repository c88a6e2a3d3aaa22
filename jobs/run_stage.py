"""The Spark application of every flowlake stage: what the Airflow DAGs submit.

  spark-submit $(flowlake submit-args --config C) jobs/run_stage.py --stage bronze --config C
  spark-submit ... jobs/run_stage.py --stage reports --config C --name trend --as-of 2017-12-31 --email

The stages and their options are in `flowlake.stages`; `flowlake stage ...` is the same command.
"""

import sys

from flowlake.cli import main

if __name__ == "__main__":
    sys.exit(main(["stage", *sys.argv[1:]]))
