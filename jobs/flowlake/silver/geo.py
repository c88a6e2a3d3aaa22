"""Geography: the country of each distinct remote address, from an offline database on PyPI.

`iptocc` (RIR delegations) or `geoip2fast` (GeoLite2-derived), chosen by `silver.geo_source`.
They disagree on some ranges (210.52.109.1: CN in one, KP in the other), so silver records
which one and which version it used. Lookups run once per distinct address, in batches inside
Python workers (mapInArrow), never once per flow.
"""

from __future__ import annotations

from importlib.metadata import version

import pyarrow as pa
from pyspark.sql import DataFrame

GEO_SOURCES = ("iptocc", "geoip2fast")


def _lookup(source: str):
    if source == "iptocc":
        from iptocc import country_code

        return lambda ips: country_code(ips)
    from geoip2fast import GeoIP2Fast

    database = GeoIP2Fast()
    return lambda ips: [database.lookup(ip).country_code for ip in ips]


def geo_version(source: str) -> str:
    """`<source> <package version>`, plus the database edition where the package has one."""
    text = f"{source} {version(source)}"
    if source == "geoip2fast":
        from geoip2fast import GeoIP2Fast

        text += f" ({GeoIP2Fast().get_database_info()['source_info']})"
    return text


def address_countries(addresses: DataFrame, column: str, source: str) -> DataFrame:
    """(`column`, remote_country) for the distinct addresses in `addresses`."""
    if source not in GEO_SOURCES:
        raise ValueError(f"unknown geo source {source!r}; flowlake supports {GEO_SOURCES}")

    def countries(batches):
        lookup = _lookup(source)
        for batch in batches:
            ips = batch.column(0).to_pylist()
            codes = [c if c and len(c) == 2 and c.isalpha() else None for c in lookup(ips)]
            yield pa.RecordBatch.from_arrays([pa.array(ips, pa.string()), pa.array(codes, pa.string())],
                                             names=[column, "remote_country"])

    return (addresses.select(column).distinct()
            .mapInArrow(countries, f"{column} string, remote_country string"))
