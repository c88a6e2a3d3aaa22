"""Record the JVM class-data archive every flowlake Spark session starts from (`make setup`).

Before its first job, a Spark session's JVM loads tens of thousands of classes (Spark, Delta,
Hadoop, the AWS SDK) from their jars. Java's class-data sharing maps them from an archive
instead: 3.5 s less per process on the 2-core machine (BENCHMARKS.md, "2026-12-01 10:28 to
11:16"), paid by every `flowlake run`, Airflow task and spark-submit. The archive holds the
classes one small `flowlake run` loads: two generated days through bronze, silver and gold in a
temporary folder. `flowlake.session` maps it into every local-mode driver; a JVM whose Java
version or class path differs from the recording's ignores it and says so on stderr, and `make
setup` records it again when the jars change.

Run it with `.venv/bin/python -m flowlake.jvm_archive` (about a minute); it replaces
.cache/jvm/classes.jsa (`flowlake.session.class_archive`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from flowlake.session import DRIVER_JAVA_OPTIONS, PROJECT_ROOT, class_archive

WORKLOAD_DAYS = ("2017-07-01", "2017-07-02")
WORKLOAD_FLOWS_PER_DAY = "200"


def scratch_config(folder: Path) -> Path:
    """The default config with its raw, warehouse and reports under `folder`."""
    config = yaml.safe_load((PROJECT_ROOT / "config" / "flowlake.yaml").read_text())
    config.update({f"{name}_uri": f"file://{folder}/{name}" for name in ("raw", "warehouse", "reports")})
    path = folder / "flowlake.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def record(archive: Path) -> None:
    """Run the workload in a JVM that writes the classes it loaded to `archive` at exit."""
    flowlake = [sys.executable, "-m", "flowlake.cli"]
    with tempfile.TemporaryDirectory(prefix="flowlake-jvm-archive-") as folder:
        config = str(scratch_config(Path(folder)))
        commands = [
            ([*flowlake, "generate", "--config", config, "--start", WORKLOAD_DAYS[0], "--end", WORKLOAD_DAYS[1],
              "--flows-per-day", WORKLOAD_FLOWS_PER_DAY], os.environ),
            ([*flowlake, "run", "--config", config, "--stages", "bronze,silver,gold"],
             {**os.environ, DRIVER_JAVA_OPTIONS: f"-XX:ArchiveClassesAtExit={archive}"}),
        ]
        for command, env in commands:
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"recording the JVM class archive: `{' '.join(command[2:])}` failed "
                                 f"(exit {done.returncode}):\n{done.stderr[-4000:]}")
    if not archive.is_file():
        raise SystemExit(f"recording the JVM class archive: the run ended without writing {archive}")


def main() -> None:
    archive = class_archive()
    archive.parent.mkdir(parents=True, exist_ok=True)
    # Sessions map the archive while it exists: the recording JVM must not, and a half-written
    # one must never be mapped.
    archive.unlink(missing_ok=True)
    partial = archive.with_name(f".{archive.name}.partial")
    partial.unlink(missing_ok=True)
    record(partial)
    partial.replace(archive)
    print(f"JVM class archive: {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
