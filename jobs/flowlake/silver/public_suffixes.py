"""Government, education and military registry suffixes of every country, from the Public Suffix List.

The PSL (https://publicsuffix.org) lists the suffixes under which the public registers names.
Its ICANN section holds each country registry's second-level domains, among them the ones only
a government (gov.vn, gob.pe, gouv.fr), a school or university (ac.in, edu.pe) or the armed
forces (mil.br) can register under. `registry_suffixes` picks those out by their first label,
with the country of their country-code TLD (uk is GB), plus the generic `gov`, `edu` and `mil`,
which are the United States'. The list comes as the snapshot bundled with the pinned
`publicsuffixlist` package (`bundled_list`), whose dated version silver records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import publicsuffixlist

# First labels that, under a country-code TLD, say who alone may register there. Chosen from
# the ICANN section by hand; lookalikes are left out (`int`: international organisations,
# `nic`: registries, `pol`, `adm`: not one meaning across countries).
REGISTRY_WORDS = {
    **dict.fromkeys(("gov", "gob", "go", "gouv", "govt", "gv", "gub"), "government_national"),
    **dict.fromkeys(("edu", "ac", "ed", "sch", "school", "k12", "univ"), "education"),
    "mil": "military",
}
# Where the PSL gives a registry word another meaning (None: not a local resource at all).
REGISTRY_EXCEPTIONS = {
    "go.it": None,  # the province of Gorizia, not the Italian government
    "ac.se": None,  # county letter code of Västerbotten, not academia
    "gob.pk": "government_district",  # the provincial government of Balochistan
    "nic.in": "government_national",  # India's National Informatics Centre hosts its government's sites
}
# The generic TLDs the United States government, its universities and its military register under.
GENERIC_TLD_KINDS = {"gov": "government_national", "edu": "education", "mil": "military"}
# Country-code TLDs that are not ISO 3166 alpha-2 codes: the country they belong to, or None.
CCTLD_COUNTRIES = {"uk": "GB", "ac": "SH", "eu": None, "su": None}

ICANN_BEGIN, ICANN_END = "// ===BEGIN ICANN DOMAINS===", "// ===END ICANN DOMAINS==="
VERSION_LINE = "// VERSION:"


@dataclass(frozen=True)
class RegistrySuffix:
    suffix: str
    kind: str
    country: str


def icann_rules(lines: Iterable[str]) -> list[str]:
    """The rules of the PSL's ICANN section, in order (comments and blank lines left out)."""
    rules, inside = [], False
    for line in lines:
        line = line.strip()
        if line == ICANN_BEGIN:
            inside = True
        elif line == ICANN_END:
            break
        elif inside and line and not line.startswith("//"):
            rules.append(line.split()[0])
    return rules


def cctld_country(tld: str) -> str | None:
    """The ISO 3166 alpha-2 country of a country-code TLD, None for other TLDs."""
    if len(tld) != 2 or not tld.isascii() or not tld.isalpha():
        return None
    return CCTLD_COUNTRIES.get(tld, tld.upper())


def registry_suffixes(lines: Iterable[str]) -> list[RegistrySuffix]:
    """Government, education and military registry suffixes in a PSL text, with their country.

    A rule `<word>.<cctld>` counts when its word is a registry word; a wildcard `*.<cctld>`
    (every second level is a registry, as in Nepal) counts for every registry word.
    """
    candidates: dict[str, str] = {}
    for rule in icann_rules(lines):
        labels = rule.split(".")
        if len(labels) == 1 and rule in GENERIC_TLD_KINDS:
            candidates[rule] = "US"
        elif len(labels) == 2 and (country := cctld_country(labels[1])):
            words = REGISTRY_WORDS if labels[0] == "*" else [labels[0]]
            candidates.update({f"{word}.{labels[1]}": country for word in words})
    found = []
    for suffix, country in sorted(candidates.items()):
        first = suffix.split(".")[0]
        kind = (GENERIC_TLD_KINDS[suffix] if suffix in GENERIC_TLD_KINDS
                else REGISTRY_EXCEPTIONS[suffix] if suffix in REGISTRY_EXCEPTIONS
                else REGISTRY_WORDS.get(first))
        if kind:
            found.append(RegistrySuffix(suffix, kind, country))
    return found


def list_version(lines: Iterable[str]) -> str:
    """The snapshot's `// VERSION:` line (the time the list was published)."""
    for line in lines:
        if line.startswith(VERSION_LINE):
            return line[len(VERSION_LINE):].strip()
    return "unknown"


@dataclass(frozen=True)
class PublicSuffixList:
    version: str  # "<package version> (list <snapshot date>)"
    suffixes: list[RegistrySuffix]


def bundled_list() -> PublicSuffixList:
    """The registry suffixes of the PSL snapshot bundled with the installed `publicsuffixlist`."""
    with open(publicsuffixlist.PSLFILE, encoding="utf-8") as source:
        lines = source.read().splitlines()
    return PublicSuffixList(version=f"{publicsuffixlist.__version__} (list {list_version(lines)})",
                            suffixes=registry_suffixes(lines))
