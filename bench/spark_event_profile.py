"""Where a Spark application's seconds went, from its event log: one line per stage.

A benchmark tool, not a test. Run a stage with Spark's event log on, one plain JSON file (Spark
reads `-Dspark.*` system properties as settings, and FLOWLAKE_DRIVER_JAVA_OPTIONS adds them to
the driver; Spark 4 otherwise writes the log compressed, in rolled parts):

    mkdir -p /tmp/events
    FLOWLAKE_DRIVER_JAVA_OPTIONS="-Dspark.eventLog.enabled=true -Dspark.eventLog.dir=file:///tmp/events \\
      -Dspark.eventLog.compress=false -Dspark.eventLog.rolling.enabled=false" \\
        .venv/bin/flowlake run --config C --stages silver
    .venv/bin/python bench/spark_event_profile.py /tmp/events/local-*

It prints each completed stage in order: its wall seconds (submission to completion), the
summed task run time, tasks, shuffle read and write, memory and disk spilled, and its name,
which PySpark sets to the action and the flowlake line that started it (`first at
build.py:146`); then the stages' seconds summed by that name, largest first.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

METRICS = {
    "run_s": "internal.metrics.executorRunTime",
    "shuffle_read": "internal.metrics.shuffle.read.remoteBytesRead",
    "shuffle_local_read": "internal.metrics.shuffle.read.localBytesRead",
    "shuffle_write": "internal.metrics.shuffle.write.bytesWritten",
    "spill_memory": "internal.metrics.memoryBytesSpilled",
    "spill_disk": "internal.metrics.diskBytesSpilled",
}


def stages(log: Path) -> list[dict]:
    """Every completed stage of the log, in completion order."""
    found = []
    with log.open() as lines:
        for line in lines:
            event = json.loads(line)
            if event["Event"] != "SparkListenerStageCompleted":
                continue
            info = event["Stage Info"]
            values = {a["Name"]: a.get("Value", 0) for a in info.get("Accumulables", [])}
            metric = {key: int(values.get(name, 0) or 0) for key, name in METRICS.items()}
            found.append({
                "id": info["Stage ID"], "name": info["Stage Name"], "tasks": info["Number of Tasks"],
                "wall_s": (info["Completion Time"] - info["Submission Time"]) / 1000,
                "run_s": metric["run_s"] / 1000,
                "shuffle_read_mib": (metric["shuffle_read"] + metric["shuffle_local_read"]) / 2**20,
                "shuffle_write_mib": metric["shuffle_write"] / 2**20,
                "spill_mib": (metric["spill_memory"] + metric["spill_disk"]) / 2**20,
                "failed": "Failure Reason" in info,
            })
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path, help="one application's event log file")
    parser.add_argument("--top", type=int, default=25, help="stage names to list in the summary")
    args = parser.parse_args()
    found = stages(args.log)
    print(f"{'stage':>5} {'wall s':>8} {'run s':>8} {'tasks':>5} {'shuf rd':>8} {'shuf wr':>8} {'spill':>8}  name")
    for s in found:
        print(f"{s['id']:>5} {s['wall_s']:>8.1f} {s['run_s']:>8.1f} {s['tasks']:>5} {s['shuffle_read_mib']:>7.0f}M "
              f"{s['shuffle_write_mib']:>7.0f}M {s['spill_mib']:>7.0f}M  {s['name']}{' FAILED' if s['failed'] else ''}")
    by_name: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for s in found:
        by_name[s["name"]][0] += s["wall_s"]
        by_name[s["name"]][1] += s["run_s"]
        by_name[s["name"]][2] += 1
    print(f"\n{len(found)} stages, {sum(s['wall_s'] for s in found):.1f} s of stage wall time "
          f"(stages overlap where jobs ran side by side); by name:")
    for name, (wall, run, count) in sorted(by_name.items(), key=lambda item: -item[1][0])[:args.top]:
        print(f"{wall:>8.1f} s wall {run:>8.1f} s run {count:>4} stages  {name}")


if __name__ == "__main__":
    main()
