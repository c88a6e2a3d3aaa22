"""Progress lines and the closing summary that long commands print to stderr.

Each stage prints one line when it ends: objects, rows, rate and elapsed time, so a person
watching a run sees where it is and how fast it goes.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field


@dataclass
class Progress:
    command: str
    stream: object = sys.stderr
    started: float = field(default_factory=time.monotonic)
    stages: list[tuple[str, int, int, float]] = field(default_factory=list)

    def say(self, message: str) -> None:
        print(f"[{self.command}] {message}", file=self.stream, flush=True)

    def stage(self, name: str) -> "StageTimer":
        return StageTimer(self, name)

    def summary(self, lines: list[str]) -> None:
        elapsed = time.monotonic() - self.started
        width = max([len(line) for line in lines] + [40])
        print("=" * width, file=self.stream)
        for line in lines:
            print(line, file=self.stream)
        print(f"total {elapsed:.1f}s", file=self.stream)
        print("=" * width, file=self.stream, flush=True)


class StageTimer:
    """`with progress.stage("parse") as stage: ...; stage.done(objects, rows)`."""

    def __init__(self, progress: Progress, name: str):
        self.progress, self.name = progress, name
        self.objects = self.rows = 0

    def __enter__(self):
        self.started = time.monotonic()
        self.progress.say(f"{self.name} ...")
        return self

    def done(self, objects: int = 0, rows: int = 0) -> None:
        self.objects, self.rows = objects, rows

    def __exit__(self, exc_type, exc, tb):
        elapsed = time.monotonic() - self.started
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        status = "failed" if exc_type else "done"
        self.progress.say(f"{self.name} {status}: {self.objects:,} objects, {self.rows:,} rows, "
                          f"{rate:,.0f} rows/s, {elapsed:.1f}s")
        self.progress.stages.append((self.name, self.objects, self.rows, elapsed))
        return False
