"""Plain object I/O outside Spark (generated dumps, ground truth, report delivery).

`write_object(uri, data, s3)` writes bytes to a `file://` path or an `s3a://bucket/key`;
`read_object` reads one back (None when absent) and `list_objects` lists the URIs under a
prefix. For S3 the endpoint and credentials come from the environment variables the config names.

`write_object` is also the fault suite's pause point, as PostgreSQL's injection points are its
tests': with FLOWLAKE_PAUSE_BEFORE_WRITE set to the end of an object's key (`index.html`,
`overseas/2017-10-01_2017-12-31/delivery.json`), the process says `[pause] before writing <uri>`
on stderr and sleeps there until the test kills it. A report's files are written milliseconds
apart, too close for a test watching from outside to kill the job between two of them
(tests/faults/test_kill.py). Unset, as in every real run, a write pays one environment lookup.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from flowlake.config import S3Settings


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


def s3_client(s3: S3Settings):
    import boto3

    return boto3.client(
        "s3", endpoint_url=s3.endpoint(), region_name=s3.region,
        aws_access_key_id=os.environ.get(s3.access_key_env),
        aws_secret_access_key=os.environ.get(s3.secret_key_env),
    )


def local_path(uri: str) -> Path:
    return Path(uri[len("file://"):] if uri.startswith("file://") else uri)


PAUSE_BEFORE_WRITE = "FLOWLAKE_PAUSE_BEFORE_WRITE"
PAUSE_LINE = "[pause] before writing "  # what the harness waits for on stderr
# A pause no test ends is a mistake (the variable set outside a test): the job then fails.
PAUSE_SECONDS = 600


def pause_if_asked(uri: str) -> None:
    """Sleep before writing `uri` when PAUSE_BEFORE_WRITE names it (the module docstring)."""
    key_end = os.environ.get(PAUSE_BEFORE_WRITE)
    if not key_end or not (uri == key_end or uri.endswith(f"/{key_end}")):
        return
    print(f"{PAUSE_LINE}{uri} ({PAUSE_BEFORE_WRITE}), until killed", file=sys.stderr, flush=True)
    time.sleep(PAUSE_SECONDS)
    raise RuntimeError(f"{PAUSE_BEFORE_WRITE}={key_end} paused this job before writing {uri} and nothing killed it "
                       f"within {PAUSE_SECONDS} s: unset it outside the fault suite")


def write_object(uri: str, data: bytes, s3: S3Settings, client=None) -> None:
    pause_if_asked(uri)
    if uri.startswith("s3a://"):
        bucket, key = split_s3(uri)
        (client or s3_client(s3)).put_object(Bucket=bucket, Key=key, Body=data)
        return
    path = local_path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    # Write then rename, so a reader never sees half an object.
    partial.write_bytes(data)
    partial.replace(path)


def parent_uri(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[0]


def read_object(uri: str, s3: S3Settings, client=None) -> bytes | None:
    if uri.startswith("s3a://"):
        bucket, key = split_s3(uri)
        client = client or s3_client(s3)
        try:
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
    path = local_path(uri)
    return path.read_bytes() if path.is_file() else None


def list_objects(prefix_uri: str, s3: S3Settings, client=None) -> list[str]:
    """Every object URI under `prefix_uri`, sorted."""
    return [uri for uri, _, _ in object_listing(prefix_uri, s3, client)]


def object_listing(prefix_uri: str, s3: S3Settings, client=None) -> list[tuple[str, int, str]]:
    """(URI, size, modification time) of every object under `prefix_uri`, sorted; none when the
    prefix does not exist. The time is text: ISO 8601 on S3, nanoseconds since 1970 on disk."""
    prefix_uri = prefix_uri.rstrip("/") + "/"
    if prefix_uri.startswith("s3a://"):
        bucket, prefix = split_s3(prefix_uri)
        pages = (client or s3_client(s3)).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted((f"s3a://{bucket}/{item['Key']}", item["Size"], item["LastModified"].isoformat())
                      for page in pages for item in page.get("Contents", ()))
    root = local_path(prefix_uri)
    files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return sorted(("file://" + str(p), (stat := p.stat()).st_size, str(stat.st_mtime_ns)) for p in files)
