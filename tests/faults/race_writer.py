"""One of the writers of the two-writer race on S3 (tests/faults/test_s3_writers.py).

  python tests/faults/race_writer.py --config C --table URI --writer NAME --commits N \
      --barrier DIR --writers W [--unprotected]

Appends N one-row commits to the Delta table at URI, each inside the warehouse's writer lease.
Before each commit it waits at a barrier (a marker file per writer and commit in DIR, holding
how long its last append took) until all W writers have reached that commit, and then for the
difference, so that their commits land together rather than drifting apart as their JVMs'
speeds differ. The test runs each writer in its own JVM: Delta's S3 log store
keeps a per-JVM record of what it wrote, so two sessions in one process would not race the way
two jobs do. `--unprotected` leaves the lease out: Delta's default S3 log store alone.
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext
from pathlib import Path

from flowlake.config import load_config
from flowlake.lease import writer_lease
from flowlake.progress import Progress
from flowlake.session import build_session


def wait_for_all(barrier: Path, writer: str, commit: int, writers: int, last_append: float) -> None:
    """Wait until every writer has reached `commit`, then as long again as the slowest writer's
    last append took beyond this one's, so that their Delta commits, the end of each append,
    fall together instead of one writer's always trailing the other's by seconds."""
    (barrier / f"{writer}.{commit}").write_text(str(last_append))
    while len(markers := list(barrier.glob(f"*.{commit}"))) < writers:
        time.sleep(0.05)
    time.sleep(max(float(m.read_text() or 0) for m in markers) - last_append)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--writer", required=True)
    parser.add_argument("--commits", type=int, required=True)
    parser.add_argument("--barrier", type=Path, required=True)
    parser.add_argument("--writers", type=int, required=True)
    parser.add_argument("--unprotected", action="store_true")
    args = parser.parse_args()
    config = load_config(args.config)
    progress = Progress(args.writer)
    spark = build_session(config, f"race-{args.writer}")
    try:
        last_append = 0.0
        for commit in range(args.commits):
            wait_for_all(args.barrier, args.writer, commit, args.writers, last_append)
            with nullcontext() if args.unprotected else writer_lease(config, args.writer, progress):
                started = time.monotonic()
                (spark.createDataFrame([(args.writer, commit)], "writer string, commit int")
                 .write.format("delta").mode("append").save(args.table))
            last_append = time.monotonic() - started
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
