"""Pseudonymised internal addresses for the reports: every mailed report unless the config says
`reports.pseudonymise: false`, every report with `true`.

`pseudonymised(df, column, key)` replaces each address in `column` by `host-` and the first 16
hex digits of HMAC-SHA256(key, address): the same host keeps the same name across reports and
runs with the same key, and without the key the name cannot be turned back into the address
(no dictionary attack over the few million addresses of the monitored ranges). The key comes
from the environment variable `reports.pseudonym_key_env` names (default
FLOWLAKE_PSEUDONYM_KEY), read by `pseudonym_key`, never from config.

Why native Spark expressions and not a lookup built on the driver: Spark has SHA-256 (`sha2`)
but no HMAC, and HMAC is H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104). With the key a
constant, both padded keys are computed once here and the rest is `sha2`, `unhex` and
`concat` on binary values inside the JVM: no Python UDF, no collect of the addresses, and it
works the same whether a report has ten hosts or a million.
"""

from __future__ import annotations

import hashlib
import os

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from flowlake.config import ReportSettings
from flowlake.errors import PipelineStopped

BLOCK_SIZE = 64  # SHA-256's block size in bytes, as HMAC pads to it
PREFIX = "host-"
HEX_DIGITS = 16  # 64 bits: collisions stay improbable for millions of hosts


class PseudonymKeyMissing(PipelineStopped):
    """Pseudonymisation is on but its key is not in the environment."""


def pseudonymises(settings: ReportSettings, emailed: bool) -> bool:
    """Whether a report's internal addresses are pseudonymised: `reports.pseudonymise` when set,
    else exactly when the report is mailed."""
    return emailed if settings.pseudonymise is None else settings.pseudonymise


def pseudonym_key(settings: ReportSettings, emailed: bool) -> bytes | None:
    """The HMAC key when the report is pseudonymised (`pseudonymises`), else None; refuses a
    missing key."""
    if not pseudonymises(settings, emailed):
        return None
    key = os.environ.get(settings.pseudonym_key_env, "")
    if not key:
        why = "reports.pseudonymise is true" if settings.pseudonymise else \
            "a mailed report names internal hosts by pseudonym unless reports.pseudonymise is false"
        raise PseudonymKeyMissing(
            f"{why}, but the environment variable {settings.pseudonym_key_env} (reports.pseudonym_key_env) "
            f"is not set or empty: set it to a secret key, the same one for every run, or set "
            f"reports.pseudonymise to false")
    return key.encode("utf-8")


def _padded_key_hex(key: bytes, pad: int) -> str:
    key = hashlib.sha256(key).digest() if len(key) > BLOCK_SIZE else key
    return bytes(b ^ pad for b in key.ljust(BLOCK_SIZE, b"\0")).hex()


def hmac_sha256_hex(message: Column, key: bytes) -> Column:
    """HMAC-SHA256(key, message) as 64 lowercase hex digits, in Spark expressions."""
    inner = F.sha2(F.concat(F.unhex(F.lit(_padded_key_hex(key, 0x36))), message.cast("binary")), 256)
    return F.sha2(F.concat(F.unhex(F.lit(_padded_key_hex(key, 0x5C))), F.unhex(inner)), 256)


def pseudonymised(df: DataFrame, column: str, key: bytes | None) -> DataFrame:
    """`df` with `column`'s addresses replaced by their pseudonyms; unchanged when key is None."""
    if key is None:
        return df
    name = F.concat(F.lit(PREFIX), F.substring(hmac_sha256_hex(F.col(column), key), 1, HEX_DIGITS))
    return df.withColumn(column, F.when(F.col(column).isNotNull(), name))
