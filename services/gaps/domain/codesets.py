"""Code sets: which value sets a code belongs to, and what a result code says.

Built from plain rows (the loader in ``services.gaps.codes`` reads them from the versioned
CSV files); nothing here reads files. A row names one code, a range (``45378``..``45398``,
``E0250``..``E0304``: same letter prefix and width) or a prefix (``C18*``).

CPT and HCPCS (and CPT II) share one namespace, ``PROC``: claims carry a procedure code
without saying which of the two it is, and the two never collide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PROC = "PROC"
_SYSTEM_ALIASES = {
    "CPT": PROC, "HCPCS": PROC, "CPT-II": PROC, "CPTII": PROC, "HCPCSII": PROC, "PROC": PROC,
    "ICD10CM": "ICD10CM", "ICD-10-CM": "ICD10CM", "ICD10": "ICD10CM",
    "LOINC": "LOINC", "POS": "POS", "REV": "REV", "DISCH": "DISCH", "TOB": "TOB",
}
_RANGE = re.compile(r"^([A-Z]*)(\d+)$")


def namespace(code_system: str) -> str:
    """The matching namespace of a code system name (``CPT`` and ``HCPCS`` are one)."""
    try:
        return _SYSTEM_ALIASES[code_system.upper()]
    except KeyError:
        raise ValueError(f"unknown code system {code_system!r}") from None


def normalize(ns: str, code: str) -> str:
    """ICD-10 without the dot, upper case; other systems stripped and upper case."""
    code = code.strip().upper()
    if ns == "ICD10CM":
        code = code.replace(".", "")
    return code


@dataclass(frozen=True, slots=True)
class Band:
    """A result range: a CPT II band (``<7``, ``7-<8``, ``>=140``) or an exact numeric value.

    ``low``/``high`` are None when unbounded; ``low_incl``/``high_incl`` say if the bound is
    included. ``label`` is what a nurse reads ("<7%" is written by the caller with its unit).
    """

    low: float | None
    low_incl: bool
    high: float | None
    high_incl: bool
    label: str

    @classmethod
    def exact(cls, value: float, label: str | None = None) -> "Band":
        text = label if label is not None else f"{value:g}"
        return cls(value, True, value, True, text)

    @classmethod
    def parse(cls, text: str) -> "Band":
        t = text.replace(" ", "").replace("–", "-")
        try:
            if t.startswith(">="):
                return cls(float(t[2:]), True, None, False, text)
            if t.startswith(">"):
                return cls(float(t[1:]), False, None, False, text)
            if t.startswith("<="):
                return cls(None, False, float(t[2:]), True, text)
            if t.startswith("<"):
                return cls(None, False, float(t[1:]), False, text)
            lo, hi = t.split("-", 1)
            if hi.startswith("<"):
                return cls(float(lo), True, float(hi[1:]), False, text)
            return cls(float(lo), True, float(hi), True, text)
        except ValueError:
            raise ValueError(f"not a result band: {text!r}") from None

    def sort_key(self) -> tuple[float, float]:
        """Orders bands by where they sit (lowest first)."""
        lo = float("-inf") if self.low is None else self.low + (0 if self.low_incl else 1e-9)
        hi = float("inf") if self.high is None else self.high - (0 if self.high_incl else 1e-9)
        return (lo, hi)

    def entirely_below(self, limit: float) -> bool:
        """Every value in the band is < limit."""
        if self.high is None:
            return False
        return self.high < limit or (self.high == limit and not self.high_incl)

    def entirely_above(self, limit: float) -> bool:
        """Every value in the band is > limit."""
        if self.low is None:
            return False
        return self.low > limit or (self.low == limit and not self.low_incl)


@dataclass(frozen=True, slots=True)
class CodeRow:
    value_set: str
    code_system: str
    code: str
    code_to: str = ""
    result: str = ""
    description: str = ""


def _expand(code: str, code_to: str) -> list[str]:
    a, b = _RANGE.match(code), _RANGE.match(code_to)
    if not a or not b or a.group(1) != b.group(1) or len(a.group(2)) != len(b.group(2)):
        raise ValueError(f"range {code}..{code_to}: ends must share a letter prefix and width")
    lo, hi = int(a.group(2)), int(b.group(2))
    if hi < lo or hi - lo > 10_000:
        raise ValueError(f"range {code}..{code_to} is empty or too wide")
    width = len(a.group(2))
    return [f"{a.group(1)}{n:0{width}d}" for n in range(lo, hi + 1)]


@dataclass
class CodeSets:
    """Lookup from (namespace, code) to the value sets it is in, with result bands.

    ``tags(ns, code)`` is memoized: a population repeats the same few thousand codes.
    """

    version: str = "unversioned"
    exact: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    prefixes: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    bands: dict[tuple[str, str, str], Band | None] = field(default_factory=dict)
    descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    value_sets: frozenset[str] = frozenset()
    _cache: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict, repr=False)
    _max_prefix: int = 0

    @classmethod
    def from_rows(cls, rows: Iterable[CodeRow | Mapping[str, str]], version: str = "unversioned") -> "CodeSets":
        exact: dict[tuple[str, str], set[str]] = {}
        prefixes: dict[tuple[str, str], set[str]] = {}
        bands: dict[tuple[str, str, str], Band | None] = {}
        descriptions: dict[tuple[str, str], str] = {}
        names: set[str] = set()
        for raw in rows:
            row = raw if isinstance(raw, CodeRow) else CodeRow(**{k: (v or "") for k, v in raw.items() if k})
            vs = row.value_set.strip()
            if not vs:
                raise ValueError("a code row has no value_set")
            names.add(vs)
            ns = namespace(row.code_system)
            code = normalize(ns, row.code)
            code_to = normalize(ns, row.code_to) if row.code_to else ""
            if code.endswith("*"):
                targets = [code[:-1]]
                if code_to:
                    raise ValueError(f"{vs}: a prefix ({code}) cannot also be a range")
                dest = prefixes
            else:
                targets = _expand(code, code_to) if code_to else [code]
                dest = exact
            result = row.result.strip()
            for c in targets:
                dest.setdefault((ns, c), set()).add(vs)
                if row.description:
                    descriptions.setdefault((ns, c), row.description.strip())
                if result:
                    bands[(vs, ns, c)] = None if result == "value" else Band.parse(result)
        inst = cls(
            version=version,
            exact={k: frozenset(v) for k, v in exact.items()},
            prefixes={k: frozenset(v) for k, v in prefixes.items()},
            bands=bands,
            descriptions=descriptions,
            value_sets=frozenset(names),
        )
        inst._max_prefix = max((len(c) for _, c in inst.prefixes), default=0)
        return inst

    def tags(self, ns: str, code: str) -> frozenset[str]:
        """Value sets ``code`` (already normalized, in namespace ``ns``) belongs to."""
        key = (ns, code)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        found = set(self.exact.get(key, ()))
        if self.prefixes:
            for n in range(1, min(len(code), self._max_prefix) + 1):
                more = self.prefixes.get((ns, code[:n]))
                if more:
                    found.update(more)
        result = frozenset(found)
        if len(self._cache) < 200_000:
            self._cache[key] = result
        return result

    def band(self, value_set: str, ns: str, code: str) -> Band | None:
        """The result band a code reports in ``value_set`` (None: the event's own value counts)."""
        return self.bands.get((value_set, ns, code))

    def has_result(self, value_set: str, ns: str, code: str) -> bool:
        return (value_set, ns, code) in self.bands

    def describe(self, ns: str, code: str) -> str | None:
        return self.descriptions.get((ns, code))
