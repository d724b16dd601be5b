"""Versioned code lists of the gaps service (data files beside this module) and their loader.

``load_code_sets()`` reads ``manifest.yaml`` and the CSV files it names, plus every ``*.csv``
in the extra directories given (the ``CODE_LIST_DIRS`` setting of the wiring): a user adds
codes by dropping a CSV with the same columns, no code change.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.gaps.domain.codesets import CodeRow, CodeSets

HERE = Path(__file__).resolve().parent
COLUMNS = ("value_set", "code_system", "code", "code_to", "result", "description")


@dataclass(frozen=True)
class Manifest:
    version: str
    files: tuple[str, ...]
    value_sets: dict[str, dict]


def read_manifest(directory: Path = HERE) -> Manifest:
    data = yaml.safe_load((directory / "manifest.yaml").read_text(encoding="utf-8"))
    return Manifest(str(data["version"]), tuple(data["files"]), dict(data.get("value_sets") or {}))


def read_rows(path: Path) -> list[CodeRow]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(COLUMNS[:3]) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        rows = []
        for n, rec in enumerate(reader, 2):
            try:
                rows.append(CodeRow(**{k: (rec.get(k) or "").strip() for k in COLUMNS}))
            except TypeError as exc:  # pragma: no cover - DictReader always gives the keys
                raise ValueError(f"{path.name}:{n}: {exc}") from None
        return rows


def load_code_sets(extra_dirs: Iterable[str | Path] = (), directory: Path = HERE) -> CodeSets:
    """The code sets: the shipped lists plus any extension CSVs. Version names both."""
    manifest = read_manifest(directory)
    rows: list[CodeRow] = []
    for name in manifest.files:
        rows.extend(read_rows(directory / name))
    version = manifest.version
    for extra in extra_dirs:
        files = sorted(Path(extra).glob("*.csv"))
        for f in files:
            rows.extend(read_rows(f))
        if files:
            version += "+" + Path(extra).name
    unknown = {r.value_set for r in rows} - set(manifest.value_sets)
    if unknown:
        raise ValueError(f"code lists name unknown value sets: {', '.join(sorted(unknown))} "
                         "(add them to manifest.yaml)")
    return CodeSets.from_rows(rows, version=version)
