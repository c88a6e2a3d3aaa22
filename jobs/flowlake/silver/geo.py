"""Geography and network: the country and AS of each distinct remote address, from offline databases on PyPI.

The country comes from `iptocc` (RIR delegations) or `geoip2fast` (GeoLite2-derived), chosen by
`silver.geo_source`. They disagree on some ranges (210.52.109.1: CN in one, KP in the other), so
silver records which one and which version it used. The AS comes from geoip2fast's ASN data
(`geoip2fast-asn-ipv6.dat.gz`, IPv4 and IPv6) whatever the country's source; its version is
recorded as well (`asn_version`).

That ASN data names an address's AS ("FACEBOOK", "Alibaba US Technology Co., Ltd.") but does
not number it: its builder keeps the names only. `remote_as_name` is that name;
`remote_asn` is the number the service catalog gives the name (`as_names`), null for the names
it does not list. Lookups run once per distinct address, in batches inside Python workers
(mapInArrow), never once per flow; each worker loads a database once.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version

import pyarrow as pa
from pyspark.sql import DataFrame

GEO_SOURCES = ("iptocc", "geoip2fast")
# Country, ASN and IPv6 in one file. geoip2fast keeps a loaded database in module globals, so
# a process holds one file: the country lookups of geo_source geoip2fast use this one too.
GEOIP2FAST_FILE = "geoip2fast-asn-ipv6.dat.gz"
# What geoip2fast answers for an address no AS announces: reserved space and gaps.
NO_AS_NAMES = ("", "IANA.ORG", "<unknown>")


@cache
def _geoip2fast():
    """The ASN database, loaded once per Python worker (Spark reuses its workers across tasks)."""
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file=GEOIP2FAST_FILE)


def _lookup(source: str):
    """A function from a list of addresses to their country codes, by `source`."""
    if source == "iptocc":
        from iptocc import country_code

        return lambda ips: country_code(ips)
    database = _geoip2fast()
    return lambda ips: [database.lookup(ip).country_code for ip in ips]


def as_names(ips: list[str]) -> list[str | None]:
    """The AS name of each address, None where no AS announces it (private, reserved, unrouted)."""
    database = _geoip2fast()
    names = []
    for ip in ips:
        found = database.lookup(ip)
        names.append(None if found.is_private or found.asn_name in NO_AS_NAMES else found.asn_name)
    return names


def _geoip2fast_edition() -> str:
    return f"geoip2fast {version('geoip2fast')} ({_geoip2fast().get_database_info()['source_info']})"


def geo_version(source: str) -> str:
    """`<source> <package version>`, plus the database edition where the package has one."""
    return _geoip2fast_edition() if source == "geoip2fast" else f"{source} {version(source)}"


def asn_version() -> str:
    """The ASN database's package version and edition, e.g. `geoip2fast 1.2.2 (MAXMIND:...-20240618)`."""
    return _geoip2fast_edition()


def address_locations(addresses: DataFrame, column: str, source: str, as_numbers: dict[str, int]) -> DataFrame:
    """(`column`, remote_country, remote_asn, remote_as_name) for the distinct addresses in `addresses`.

    `as_numbers` maps the AS names of the ASN database to AS numbers (the catalog's `as_names`).
    """
    if source not in GEO_SOURCES:
        raise ValueError(f"unknown geo source {source!r}; flowlake supports {GEO_SOURCES}")

    def locations(batches):
        lookup = _lookup(source)
        for batch in batches:
            ips = batch.column(0).to_pylist()
            codes = [c if c and len(c) == 2 and c.isalpha() else None for c in lookup(ips)]
            names = as_names(ips)
            yield pa.RecordBatch.from_arrays(
                [pa.array(ips, pa.string()), pa.array(codes, pa.string()),
                 pa.array([as_numbers.get(n) for n in names], pa.int64()), pa.array(names, pa.string())],
                names=[column, "remote_country", "remote_asn", "remote_as_name"])

    return (addresses.select(column).distinct()
            .mapInArrow(locations, f"{column} string, remote_country string, remote_asn long, remote_as_name string"))
