"""The errors flowlake stops with on purpose, each with a message for people, and how the
`flowlake` command and `jobs/run_stage.py` report them (`exit_status`)."""

import sys


class PipelineStopped(RuntimeError):
    """A gate refused to publish (quality suite, quarantine rate); the message says why and where."""


class InputRefused(ValueError):
    """A file a person gave cannot be used (a config, a service catalog); the message names the
    file and the key or line."""

    label = "input error"


class OptionsRefused(ValueError):
    """Command-line options that do not go together; the message says which."""


def exit_status(err: Exception) -> int:
    """Print `err` for people (under spark-submit or Airflow a stack trace would hide it) and
    return the exit status: 2 for input a person must correct, 1 for a run that stopped."""
    if isinstance(err, InputRefused):
        print(f"flowlake: {err.label}: {err}", file=sys.stderr)
        return 2
    print(f"flowlake: {type(err).__name__}: {err}", file=sys.stderr)
    return 1
