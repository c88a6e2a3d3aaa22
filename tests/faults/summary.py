"""The fault suite's figures as RELIABILITY.md's table: `python -m tests.faults.summary`.

Reads .run/faults/results.jsonl (one line per trial, written by the tests) and prints one row
per scenario: trials, how many of the kills (retries included) landed before the stage's last
commit, how many trials count (their fault interrupted the stage), rows lost, duplicates,
whether every trial ended with the reference tables, and where the faults landed.
"""

from __future__ import annotations

import json
import sys

from tests.faults.harness import RESULTS


def scenario_rows(results: list[dict]) -> list[str]:
    scenarios: dict[str, list[dict]] = {}
    for result in results:
        scenarios.setdefault(result["scenario"], []).append(result)
    lines = ["| scenario | trials | kills before the last commit | counted | rows lost | duplicates | "
             "ends equal to the reference | where the faults landed | seconds per trial (max) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for scenario, trials in scenarios.items():
        equal = all(t.get("tables_equal", t.get("files_equal", True)) for t in trials)
        counted = sum(t.get("before_last_commit", True) for t in trials)
        lines.append(f"| {scenario} | {len(trials)} | {kills_before_last_commit(trials)} | {counted} | "
                     f"{sum(t['rows_lost'] for t in trials)} | {sum(t['duplicates'] for t in trials)} | "
                     f"{'yes' if equal else 'NO'} | {landed(trials)} | {max(t['seconds'] for t in trials):.0f} |")
    return lines


def kills_before_last_commit(trials: list[dict]) -> str:
    """"k of n": of the n kills made (a retried trial's included), k interrupted the stage."""
    kills = [t for t in trials if "kills" in t]
    if not kills:
        return "-"
    made = sum(t["kills"] for t in kills)
    return f"{made - sum(t['kills_after_last_commit'] for t in kills)} of {made}"


def landed(trials: list[dict]) -> str:
    """Where each trial's fault fell, in a few words."""
    points = []
    for t in trials:
        if "store_failure" in t:
            points.append(f"{t['stage']} commit {t['aimed_at']} of {t['stage_commits']} {t['store_failure']}, "
                          f"{t['commits_before_failure']} on the store, the stage failed ({t['failure']})")
        elif "stage_commits" in t:
            points.append(f"{t['commits_before_kill']}/{t['stage_commits']} commits (aimed {t['aimed_at']}) "
                          f"+ {t['delay']}s" + ("" if t["before_last_commit"] else " (after the last commit)")
                          + (f", {t['mailed_before_kill']} mailed" if "mailed_before_kill" in t else ""))
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
