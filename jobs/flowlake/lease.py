"""The writer lease: one writing job at a time on an s3a:// warehouse.

Delta's default S3 log store is safe for one writer only. Two writers that commit the same table
version at once both write `_delta_log/<version>.json`; through S3A the second put replaces the
first, Delta reports success to both, and the first writer's commit is gone while the manifest
says its objects were ingested. Delta's answer, the DynamoDB-backed log store, could not be used
here (README, "Many writers on an S3 warehouse"), so flowlake enforces one writer instead.

Every job that writes (ingest, silver, gold, reports, maintenance, a hand-run `flowlake run`)
opens its session through `flowlake.session.writing_session`, which first takes this lease: one
object, `<warehouse_uri>/_flowlake_writer_lease.json`.
- Taking it is a conditional put (If-None-Match: *): of two takers, S3 lets exactly one create it.
- The holder renews it every `lease_seconds / 5` from a thread, with a put conditional on the
  ETag it holds (If-Match), and deletes it (If-Match again) when the job ends.
- A holder that is killed stops renewing. Once the object has gone unrenewed for its holder's
  `lease_seconds`, by S3's clock (its Last-Modified against the Date of the answer, so no two
  machines' clocks are compared), a taker replaces it, conditional on the ETag it read, so of
  two takers of a dead lease one wins.
- A holder whose renewal is refused has lost the lease (it was frozen past its lease_seconds and
  another job took it); its run ends with `WriterLeaseLost` instead of reporting success.
On a file:// warehouse there is nothing to take: Delta's local log store commits by a rename
that refuses an existing file, which is safe for any number of writers.

Run nothing here by hand; `tests/unit/test_lease.py` and `tests/integration/test_s3_warehouse.py`
show it working and what happens without it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from flowlake.config import Config
from flowlake.errors import PipelineStopped
from flowlake.progress import Progress
from flowlake.storage import s3_client, split_s3

LEASE_OBJECT = "_flowlake_writer_lease.json"
# S3 and moto answer a failed condition with 412 PreconditionFailed; S3 answers 409
# ConditionalRequestConflict when another conditional write to the key is in flight.
REFUSED = {"PreconditionFailed", "ConditionalRequestConflict"}


class WarehouseBusy(PipelineStopped):
    """Another job held the writer lease for longer than this one would wait."""


class WriterLeaseLost(PipelineStopped):
    """Another job took the lease while this one still ran: its commits may have raced."""


@dataclass
class HeldLease:
    client: object
    bucket: str
    key: str
    body: bytes
    etag: str
    lost: str = ""


def lease_uri(config: Config) -> str:
    return f"{config.warehouse_uri}/{LEASE_OBJECT}"


def _error_code(err: Exception) -> str:
    return getattr(err, "response", {}).get("Error", {}).get("Code", "")


def _server_time(response: dict) -> datetime:
    return parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])


def try_take(client, bucket: str, key: str, body: bytes) -> tuple[str | None, str]:
    """One attempt: (our ETag, "") when the lease is ours now, else (None, who holds it)."""
    from botocore.exceptions import ClientError

    try:
        return client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")["ETag"], ""
    except ClientError as err:
        if _error_code(err) not in REFUSED:
            raise
    try:
        current = client.get_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if _error_code(err) == "NoSuchKey":  # released between our put and our read
            return None, "nobody (just released)"
        raise
    holder = json.loads(current["Body"].read())
    idle = (_server_time(current) - current["LastModified"]).total_seconds()
    if idle < holder["lease_seconds"]:
        return None, f"{holder['holder']} (renewed {idle:.0f}s ago)"
    try:
        return client.put_object(Bucket=bucket, Key=key, Body=body, IfMatch=current["ETag"])["ETag"], ""
    except ClientError as err:
        if _error_code(err) in REFUSED:
            return None, "another job taking over an expired lease"
        raise


def _renew_until(lease: HeldLease, stop: threading.Event, every: float) -> None:
    from botocore.exceptions import ClientError

    while not stop.wait(every):
        try:
            lease.etag = lease.client.put_object(Bucket=lease.bucket, Key=lease.key, Body=lease.body,
                                                 IfMatch=lease.etag)["ETag"]
        except ClientError as err:
            if _error_code(err) in REFUSED:
                lease.lost = "another job replaced the lease object (this job went unrenewed too long)"
                return
            # A passing S3 error: the next renewal tries again, well inside lease_seconds.


def lease_body(holder: str, seconds: int) -> bytes:
    """What the lease object says: who holds it (to name in a busy message) and for how long an
    unrenewed lease stays theirs. The token makes two holders' bodies, and so ETags, differ."""
    return json.dumps({"holder": f"{holder} (pid {os.getpid()} on {socket.gethostname()})",
                       "lease_seconds": seconds, "token": uuid.uuid4().hex}).encode()


@contextmanager
def held_lease(client, uri: str, holder: str, seconds: int, wait_seconds: float, progress: Progress):
    """Hold the lease at `uri` for the `with` block, waiting up to `wait_seconds` to take it."""
    bucket, key = split_s3(uri)
    body = lease_body(holder, seconds)
    deadline = time.monotonic() + wait_seconds
    told = ""
    while True:
        etag, other = try_take(client, bucket, key, body)
        if etag:
            break
        if time.monotonic() >= deadline:
            raise WarehouseBusy(f"{uri}: the warehouse's writer lease is held by {other}; waited "
                                f"{wait_seconds:.0f}s (s3.lease_wait_seconds). Run again when that job has "
                                f"finished, or once a killed holder's lease has run out (s3.lease_seconds).")
        if other != told:
            progress.say(f"waiting for the warehouse's writer lease, held by {other}")
            told = other
        time.sleep(min(2.0, seconds / 10))
    lease = HeldLease(client, bucket, key, body, etag)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew_until, args=(lease, stop, seconds / 5), daemon=True,
                               name="flowlake-writer-lease")
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join()
        if not lease.lost:
            from botocore.exceptions import ClientError

            try:
                client.delete_object(Bucket=bucket, Key=key, IfMatch=lease.etag)
            except ClientError as err:
                if _error_code(err) not in REFUSED:
                    raise
    if lease.lost:
        raise WriterLeaseLost(f"{uri}: {lease.lost}; its commits may have raced another writer's. "
                              f"Raise s3.lease_seconds above the longest pause a job can have, and run again.")


@contextmanager
def writer_lease(config: Config, holder: str, progress: Progress):
    """The warehouse's writer lease for the `with` block when the warehouse is on S3."""
    if not config.warehouse_uri.startswith("s3a://"):
        yield None
        return
    with held_lease(s3_client(config.s3), lease_uri(config), holder, config.s3.lease_seconds,
                    config.s3.lease_wait_seconds, progress) as lease:
        yield lease
