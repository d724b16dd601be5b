"""bench/run_all.py says loudly when a headline figure could not be measured (issue 14, via issue 12's
bench work): a promised figure no RESULT line reported, or a figure without a value, is a MISSING
row, and the run exits 1."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_all():
    import sys

    sys.path.insert(0, str(BENCH))  # run_all imports bench/common.py
    try:
        spec = importlib.util.spec_from_file_location("bench_run_all", BENCH / "run_all.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("common", None)
    return mod


def test_a_promised_figure_not_reported_is_missing():
    mod = run_all()
    rows = mod.missing_rows("admissions", [
        {"figure": "MLLP ingest throughput, 16 connections (ACK after acks=all write)", "value": 2100.0},
        {"figure": "MLLP ingest throughput, 1 connection (ACK after acks=all write)", "value": 410.0},
        {"figure": "MLLP ACK latency p99 at 200 msg/s (worker running)", "value": 20.0},
    ], 0)
    assert [r["figure"] for r in rows] == ["MISSING: Admit-to-alert p99… (not measured)"]
    assert rows[0]["ok"] is False and rows[0]["missing"]


def test_a_figure_without_a_value_is_missing_and_every_suite_entry_promises_figures():
    mod = run_all()
    rows = mod.missing_rows("kafka", [{"figure": "Kafka producer ceiling (x)", "value": float("nan")}], 0)
    assert len(rows) == 1 and rows[0]["figure"].startswith("MISSING: Kafka producer ceiling")
    assert set(mod.HEADLINES) <= set(mod.SUITE)
