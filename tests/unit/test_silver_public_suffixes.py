"""Unit tests for flowlake.silver.public_suffixes: registry suffixes from a Public Suffix List.

The rule on tiny PSL texts first (which rules count, with what kind and country), then the
bundled snapshot through silver's hostname profiles: a hostname under a country's government,
education or military suffix is a local resource of that country.
"""

from __future__ import annotations

import pytest

from flowlake.silver.service_catalog import load_catalog
from flowlake.silver.classify import hostname_profiles
from flowlake.silver.public_suffixes import RegistrySuffix, bundled_list, list_version, registry_suffixes

PSL_TEXT = """\
// VERSION: 2026-10-22_08-36-41_UTC
// ===BEGIN ICANN DOMAINS===
// gov : the US government
gov
com
edu.pe
gob.pe
com.pe
mil.br
ac.uk
gov.eu
go.it
ac.se
int.la
*.np
!www.np
// ===END ICANN DOMAINS===
// ===BEGIN PRIVATE DOMAINS===
gov.example.com
edu.example.net
// ===END PRIVATE DOMAINS===
"""


def test_registry_suffixes_of_a_small_list():
    assert registry_suffixes(PSL_TEXT.splitlines()) == [
        RegistrySuffix("ac.np", "education", "NP"),
        RegistrySuffix("ac.uk", "education", "GB"),  # uk is not ISO 3166: the country is GB
        RegistrySuffix("ed.np", "education", "NP"),
        RegistrySuffix("edu.np", "education", "NP"),
        RegistrySuffix("edu.pe", "education", "PE"),
        RegistrySuffix("go.np", "government_national", "NP"),
        RegistrySuffix("gob.np", "government_national", "NP"),
        RegistrySuffix("gob.pe", "government_national", "PE"),
        RegistrySuffix("gouv.np", "government_national", "NP"),
        RegistrySuffix("gov", "government_national", "US"),
        RegistrySuffix("gov.np", "government_national", "NP"),
        RegistrySuffix("govt.np", "government_national", "NP"),
        RegistrySuffix("gub.np", "government_national", "NP"),
        RegistrySuffix("gv.np", "government_national", "NP"),
        RegistrySuffix("k12.np", "education", "NP"),
        RegistrySuffix("mil.br", "military", "BR"),
        RegistrySuffix("mil.np", "military", "NP"),
        RegistrySuffix("sch.np", "education", "NP"),
        RegistrySuffix("school.np", "education", "NP"),
        RegistrySuffix("univ.np", "education", "NP"),
    ]
    # Left out: com and com.pe (no registry word), gov.eu (eu is no country), go.it (Gorizia),
    # ac.se (a county code), int.la (international organisations), the private section.


def test_list_version_is_the_snapshot_date():
    assert list_version(PSL_TEXT.splitlines()) == "2026-10-22_08-36-41_UTC"


def test_bundled_list_records_package_and_snapshot_versions():
    psl = bundled_list()
    assert psl.version.startswith("1.1.2.20261023 (list 2026-")
    assert RegistrySuffix("gov.vn", "government_national", "VN") in psl.suffixes


@pytest.fixture(scope="module")
def profiles(spark):
    """{hostname: (kind, organisation domain, country)} through silver's hostname profiles."""
    names = spark.createDataFrame(
        [("www.iitd.ac.in",), ("moh.gov.vn",), ("minedu.gob.pe",), ("army.mil.br",), ("www.ox.ac.uk",),
         ("www.nasa.gov",), ("gov.example.com",), ("www.comune.go.it",)], "hostname string")
    rows = hostname_profiles(names, load_catalog().domain_rules(spark)).collect()
    return {r.hostname: (r.local_resource_kind, r.local_resource_domain, r.local_resource_country) for r in rows}


@pytest.mark.parametrize("hostname, expected", [
    ("www.iitd.ac.in", ("education", "iitd.ac.in", "IN")),
    ("moh.gov.vn", ("government_national", "moh.gov.vn", "VN")),
    ("minedu.gob.pe", ("government_national", "minedu.gob.pe", "PE")),
    ("army.mil.br", ("military", "army.mil.br", "BR")),
    ("www.ox.ac.uk", ("education", "ox.ac.uk", "GB")),
    ("www.nasa.gov", ("government_national", "nasa.gov", "US")),
])
def test_psl_rule_gives_the_kind_organisation_and_country(profiles, hostname, expected):
    assert profiles[hostname] == expected


@pytest.mark.parametrize("hostname", ["gov.example.com", "www.comune.go.it"])
def test_a_lookalike_that_is_no_registry_suffix_is_no_local_resource(profiles, hostname):
    assert profiles.get(hostname, (None, None, None)) == (None, None, None)
