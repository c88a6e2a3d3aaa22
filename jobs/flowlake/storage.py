"""Plain object I/O outside Spark (generated dumps, ground truth, report delivery).

`write_object(uri, data, s3)` writes bytes to a `file://` path or an `s3a://bucket/key`;
`read_object` reads one back (None when absent) and `list_objects` lists the URIs under a
prefix. For S3 the endpoint and credentials come from the environment variables the config names.
"""

from __future__ import annotations

import os
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


def write_object(uri: str, data: bytes, s3: S3Settings, client=None) -> None:
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
