"""Plain object I/O outside Spark (generated dumps, ground truth, later report delivery).

`write_object(uri, data, s3)` writes bytes to a `file://` path or an `s3a://bucket/key`. For
S3 the endpoint and credentials come from the environment variables the config names.
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


def write_object(uri: str, data: bytes, s3: S3Settings, client=None) -> None:
    if uri.startswith("s3a://"):
        bucket, key = split_s3(uri)
        (client or s3_client(s3)).put_object(Bucket=bucket, Key=key, Body=data)
        return
    path = Path(uri[len("file://"):] if uri.startswith("file://") else uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    # Write then rename, so a reader never sees half an object.
    partial.write_bytes(data)
    partial.replace(path)


def parent_uri(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[0]
