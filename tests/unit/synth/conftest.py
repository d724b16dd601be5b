"""Generated populations shared by the synth tests (generated once per session, in tmp)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from carectl.synth import SynthConfig, generate, load_manifest


@pytest.fixture(scope="session")
def year_dir(tmp_path_factory) -> Path:
    """5,000 members over a calendar year with the default rates."""
    out = tmp_path_factory.mktemp("year")
    generate(SynthConfig(members=5000, seed=11, start=date(2026, 1, 1), months=12), out)
    return out


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory) -> Path:
    """A small quarter with many malformed messages and adjustments, for structure checks."""
    out = tmp_path_factory.mktemp("small")
    generate(SynthConfig(members=1000, seed=5, months=3, malformed_rate=0.15, replacement_rate=0.05,
                         void_rate=0.04, claim_batch="month"), out)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def all_claim_rows(out: Path) -> list[dict[str, str]]:
    """Claims CSV rows of every batch, in delivery order."""
    rows: list[dict[str, str]] = []
    for entry in load_manifest(out)["files"]["claims"]:
        rows.extend(read_csv(out / entry["csv"]))
    return rows
