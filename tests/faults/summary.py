"""The fault suite's figures as RELIABILITY.md's table: `python -m tests.faults.summary`.

Reads .run/faults/results.jsonl (one line per trial, written by the tests) and prints one row
per scenario: trials, rows lost, duplicates, whether every trial ended with the reference
tables, and where the kills landed.
"""

from __future__ import annotations

import json
import sys

from tests.faults.harness import RESULTS


def scenario_rows(results: list[dict]) -> list[str]:
    scenarios: dict[str, list[dict]] = {}
    for result in results:
        scenarios.setdefault(result["scenario"], []).append(result)
    lines = ["| scenario | trials | rows lost | duplicates | ends equal to the reference | where the faults landed | "
             "seconds per trial (max) |", "|---|---|---|---|---|---|---|"]
    for scenario, trials in scenarios.items():
        equal = all(t.get("tables_equal", t.get("files_equal", True)) for t in trials)
        lines.append(f"| {scenario} | {len(trials)} | {sum(t['rows_lost'] for t in trials)} | "
                     f"{sum(t['duplicates'] for t in trials)} | {'yes' if equal else 'NO'} | {landed(trials)} | "
                     f"{max(t['seconds'] for t in trials):.0f} |")
    return lines


def landed(trials: list[dict]) -> str:
    """Where each trial's fault fell, in a few words."""
    points = []
    for t in trials:
        if "commits_before_kill" in t:
            points.append(f"{t['commits_before_kill']} commits + {t['delay']}s"
                          + (" (job had finished)" if t["finished_before_kill"] else ""))
        elif "files_before_kill" in t:
            points.append(f"{t['files_before_kill']} files + {t['delay']}s, {t['mailed_before_kill']} mailed"
                          + (" (job had finished)" if t["finished_before_kill"] else ""))
        elif "exit_codes" in t:
            points.append(f"stagger {t['stagger']}s, exits {t['exit_codes']}")
        elif "failure" in t:
            points.append(f"run failed ({t['failure']}), tables unchanged: {t['tables_unchanged_after_failure']}")
    return "; ".join(points) or "-"


def main() -> int:
    if not RESULTS.is_file():
        print(f"no results at {RESULTS}: run `make faults` first", file=sys.stderr)
        return 1
    results = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    print(f"FLOWLAKE_FAULT_TRIALS={results[0]['trials_setting']}, {len(results)} trials")
    print("\n".join(scenario_rows(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
