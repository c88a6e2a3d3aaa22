"""The writer lease (flowlake.lease) on the local S3 server: one holder at a time, a killed
holder's lease taken over once it has gone unrenewed, a holder that lost it told so. (The server,
not moto's in-process mock: the lease reads S3's clock from the Date header the mock leaves out.)"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import boto3
import pytest

from flowlake.config import load_config
from flowlake.lease import WarehouseBusy, WriterLeaseLost, held_lease, lease_body, try_take, writer_lease
from flowlake.progress import Progress
from tests.conftest import write_config

URI = "s3a://lease-test/warehouse/_flowlake_writer_lease.json"
KEY = "warehouse/_flowlake_writer_lease.json"


@pytest.fixture
def client(s3_endpoint):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    if "lease-test" not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="lease-test")
    s3.delete_object(Bucket="lease-test", Key=KEY)
    return s3


def holder_of(client) -> str:
    return json.loads(client.get_object(Bucket="lease-test", Key=KEY)["Body"].read())["holder"]


def test_one_holder_at_a_time_and_the_object_goes_when_released(client):
    with held_lease(client, URI, "first", 60, 0, Progress("test")):
        assert holder_of(client).startswith("first (pid ")
        with pytest.raises(WarehouseBusy, match=r"lease-test/warehouse/_flowlake_writer_lease.json: .*held by first"):
            with held_lease(client, URI, "second", 60, 0, Progress("test")):
                pytest.fail("two holders at once")
    assert client.list_objects_v2(Bucket="lease-test").get("KeyCount") == 0
    with held_lease(client, URI, "second", 60, 0, Progress("test")):
        assert holder_of(client).startswith("second")


def test_a_waiting_job_takes_the_lease_when_the_holder_releases_it(client):
    taken = []

    def second():
        with held_lease(client, URI, "second", 2, 30, Progress("test")):
            taken.append(time.monotonic())

    with held_lease(client, URI, "first", 2, 0, Progress("test")):
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(1.5)
        released = time.monotonic()
    waiter.join()
    assert taken and taken[0] >= released


def test_a_killed_holders_lease_is_taken_once_unrenewed_for_its_lease_seconds(client):
    # A killed holder leaves its object behind and renews it no more.
    assert try_take(client, "lease-test", KEY, lease_body("killed", 2))[0]
    etag, holder = try_take(client, "lease-test", KEY, lease_body("next", 2))
    assert etag is None and holder.startswith("killed")
    time.sleep(3.1)
    with held_lease(client, URI, "next", 2, 0, Progress("test")):
        assert holder_of(client).startswith("next")


def test_a_live_holder_keeps_its_lease_past_lease_seconds_by_renewing(client):
    with held_lease(client, URI, "first", 1, 0, Progress("test")):
        time.sleep(2.5)
        with pytest.raises(WarehouseBusy):
            with held_lease(client, URI, "second", 1, 0, Progress("test")):
                pass


def test_a_holder_whose_lease_was_taken_ends_with_writer_lease_lost(client):
    with pytest.raises(WriterLeaseLost, match="another job replaced the lease object"):
        with held_lease(client, URI, "frozen", 1, 0, Progress("test")):
            # What a takeover after a long pause leaves: another holder's body in the object.
            client.put_object(Bucket="lease-test", Key=KEY, Body=lease_body("other", 1))
            time.sleep(0.5)
    assert holder_of(client).startswith("other")


def test_a_local_warehouse_takes_no_lease(tmp_path):
    config = load_config(write_config(tmp_path))
    with writer_lease(config, "job", Progress("test")) as lease:
        assert lease is None


def test_an_s3_warehouse_takes_its_lease_beside_the_tables(tmp_path, client):
    config = replace(load_config(write_config(tmp_path)), warehouse_uri="s3a://lease-test/warehouse")
    with writer_lease(config, "flowlake-run", Progress("test")) as lease:
        assert (lease.bucket, lease.key) == ("lease-test", KEY)
        assert holder_of(client).startswith("flowlake-run")
