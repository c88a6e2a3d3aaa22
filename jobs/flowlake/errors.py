"""The error a run stops with on purpose: bad data held back, with a message for people."""


class PipelineStopped(RuntimeError):
    """A gate refused to publish (quality suite, quarantine rate); the message says why and where."""
