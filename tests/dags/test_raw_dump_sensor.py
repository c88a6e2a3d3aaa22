"""The ingest DAG's wait for raw dumps, deferred for real: the sensor finds no dump of its day
in the local S3 server, hands itself to the triggerer, and its trigger (aiobotocore, the code
the triggerer runs) fires once a dump of that day lands, and not for another day's dump.

The end-to-end DAG runs land their dumps first, so the sensor never has to wait there; this is
the path a daily run takes when its dumps are late."""

from __future__ import annotations

import asyncio
import copy

import pytest

from flowlake.storage import s3_client

BUCKET = "flowlake-sensor"


def test_the_sensor_defers_and_fires_when_a_dump_of_its_day_lands(dagbag, s3_endpoint, tmp_path):
    from airflow.sdk.exceptions import TaskDeferred

    from tests.conftest import write_config
    from flowlake.config import load_config

    client = s3_client(load_config(write_config(tmp_path)).s3)
    client.create_bucket(Bucket=BUCKET)
    sensor = copy.copy(dagbag.dags["flowlake_ingest"].get_task("wait_for_raw_dumps"))
    # What the templates render to for the run covering 2017-07-30 (job_settings' XComs).
    sensor.bucket_key = f"s3://{BUCKET}/raw/*2017-07-30*"
    sensor.poke_interval = 0.2

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context={})
    assert deferred.value.method_name == "execute_complete"
    trigger = deferred.value.trigger

    async def first_event():
        waiting = asyncio.ensure_future(trigger.run().__anext__())
        client.put_object(Bucket=BUCKET, Key="raw/flows/pyongyang/2017-07-29.csv.gz", Body=b"a day too early")
        await asyncio.sleep(2)
        assert not waiting.done(), waiting.result()
        client.put_object(Bucket=BUCKET, Key="raw/flows/pyongyang/2017-07-30.csv.gz", Body=b"its day")
        return await asyncio.wait_for(waiting, timeout=60)

    event = asyncio.run(first_event())
    assert event.payload == {"status": "success"}
    sensor.execute_complete(context={}, event=event.payload)
