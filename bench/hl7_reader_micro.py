"""Micro-benchmark of the admissions ACK path's HL7 reading, in one process.

Prints µs per message for a typical 6-segment ADT^A01 (MSH, EVN, PID with two identifiers,
PV1, two DG1): the light reader alone, reader + extraction of every field the service uses,
+ validation and leniency, + mapping to AdtEventV2, + the ACK; and python-hl7's full parse for comparison.

    .venv/bin/python bench/hl7_reader_micro.py [--n 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402 - RESULT lines for bench/run_all.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.admissions.domain.ack import build_ack  # noqa: E402
from services.admissions.domain.adt_event import to_adt_event  # noqa: E402
from services.admissions.domain.adt_fields import extract  # noqa: E402
from services.admissions.domain.hl7_full import full_parse  # noqa: E402
from services.admissions.domain.hl7_reader import Hl7Message  # noqa: E402
from services.admissions.domain.validation import inspect  # noqa: E402

A01 = (
    "MSH|^~\\&|EPICADT|MERCY|CCP|CCP|20260302140500-0500||ADT^A01^ADT_A01|MSG000123|P|2.5.1\r"
    "EVN|A01|20260302140500-0500\r"
    "PID|1||100234^^^MERCY^MR~998877^^^SSA^SS||Example^Ada||19580314|F|||1 Main St^^Springfield^OH^45501\r"
    "PV1|1|I|4W^412^A^MERCY||||1922334455^Osler^William|||MED||||7|||1922334455^Osler^William|IP|V88812"
    "|||||||||||||||||||||||||20260302140000-0500\r"
    "DG1|1||J18.9^Pneumonia^I10||20260302|A\r"
    "DG1|2||E11.9^Type 2 diabetes mellitus without complications^I10||20260302|W\r"
).encode()
TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 2, 19, 5, 1, tzinfo=timezone.utc)


def per_message(fn, n: int) -> float:
    for _ in range(min(n // 10, 2000)):
        fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def reader_only() -> None:
    m = Hl7Message.parse(A01)
    m.value("MSH", 9, 2), m.value("MSH", 10), m.value("PID", 3)


def reader_extract() -> None:
    extract(Hl7Message.parse(A01), TZ)


def reader_validate() -> None:
    inspect(A01, TZ)


def to_event() -> None:
    ins = inspect(A01, TZ)
    to_adt_event(ins.fields, raw=ins.message.text, received_at=NOW, source="mllp:MERCY", assessment=ins.assessment)


def whole_ack_path() -> None:
    ins = inspect(A01, TZ)
    to_adt_event(ins.fields, raw=ins.message.text, received_at=NOW, source="mllp:MERCY", assessment=ins.assessment)
    build_ack(ins.message, ins.fields, ins.issues, now=NOW)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python {platform.python_version()} ({platform.system()})")
    print(f"message: ADT^A01, {len(A01)} bytes, 6 segments; best of 3 runs of {n}")
    rows = [
        ("reader: parse + MSH-9.2, MSH-10, PID-3", reader_only, n),
        ("reader + extract every field the service uses", reader_extract, n),
        ("  + validation and leniency (inspect)", reader_validate, n),
        ("  + AdtEventV2 (pydantic validation)", to_event, n),
        ("  + ACK built (whole ACK path, no I/O)", whole_ack_path, n),
        ("python-hl7 full parse (for comparison)", lambda: full_parse(A01), max(n // 10, 100)),
    ]
    for label, fn, count in rows:
        us = per_message(fn, count)
        print(f"{label:<50} {us:8.1f} µs/message  ({1e6 / us:,.0f}/s on one core)")
        if "whole ACK path" in label or "python-hl7" in label:
            report(f"HL7 {label.strip(' +')}", us, "µs/message", better="lower")


if __name__ == "__main__":
    main()
