"""Read a generated directory back as one timeline: roster loads, claims deliveries and ADT
messages in simulated-time order, streamed from the files (nothing is held but one line).

At equal times a roster load comes first, then a claims delivery, then ADT messages.
"""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Union
from zoneinfo import ZoneInfo

Kind = Literal["roster", "claims", "adt"]
_PRIORITY = {"roster": 0, "claims": 1, "adt": 2}


@dataclass(frozen=True, slots=True)
class RosterLoad:
    month: str
    path: Path
    members: int
    full: bool = True          # a full roster: members missing from it are termed


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    label: str
    path_837p: Path | None
    path_837i: Path | None
    path_csv: Path
    claims: int
    lines: int
    window: tuple[str, str] | None   # [from, to) dates of receipt; None for the history batch


@dataclass(frozen=True, slots=True)
class AdtItem:
    message: bytes             # one HL7 message, segments separated (and ended) by CR
    control_id: str            # MSH-10 ("" for a message without a usable MSH)
    facility: str
    trigger: str
    patient_class: str
    member_id: str             # the member the patient really is ("" if not on the roster)
    patient_key: str           # AUTHORITY|MRN of PID-3
    visit_number: str
    matchable: bool            # the roster's MRN crosswalk knows PID-3
    expect: str                # "accept" or "reject" (malformed: should get AE/AR and be dead-lettered)
    malformed: str             # "" or the kind of damage
    file: str
    seq: int                   # position in its file


@dataclass(frozen=True, slots=True)
class TimelineItem:
    at: datetime               # simulated time (tz-aware)
    kind: Kind
    data: Union[RosterLoad, ClaimBatch, AdtItem]


def load_manifest(out_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))


def read_hl7_file(path: str | Path) -> Iterator[bytes]:
    """The messages of a generated .hl7 file: one per LF-separated record, CR-ended segments kept."""
    with open(path, "rb") as fh:
        for line in fh:
            msg = line.rstrip(b"\n")
            if msg:
                yield msg


def iter_adt(out_dir: str | Path, manifest: dict[str, Any] | None = None) -> Iterator[TimelineItem]:
    out = Path(out_dir)
    manifest = manifest or load_manifest(out)
    for entry in manifest["files"]["adt"]:
        with open(out / entry["index"], newline="", encoding="utf-8") as idx_fh:
            rows = csv.DictReader(idx_fh)
            for row, msg in zip(rows, read_hl7_file(out / entry["path"]), strict=True):
                yield TimelineItem(datetime.fromisoformat(row["sent_at"]), "adt", AdtItem(
                    msg, row["control_id"], row["facility"], row["trigger"], row["patient_class"],
                    row["member_id"], row["patient_key"], row["visit_number"], row["matchable"] == "1",
                    row["expect"], row["malformed"], entry["path"], int(row["seq"])))


def iter_claim_batches(out_dir: str | Path, manifest: dict[str, Any] | None = None) -> Iterator[TimelineItem]:
    out = Path(out_dir)
    manifest = manifest or load_manifest(out)
    for e in manifest["files"]["claims"]:
        yield TimelineItem(datetime.fromisoformat(e["delivered_at"]), "claims", ClaimBatch(
            e["label"], out / e["x12_837p"] if e["x12_837p"] else None,
            out / e["x12_837i"] if e["x12_837i"] else None, out / e["csv"], e["claims"], e["lines"],
            tuple(e["window"]) if e["window"] else None))


def iter_rosters(out_dir: str | Path, manifest: dict[str, Any] | None = None) -> Iterator[TimelineItem]:
    out = Path(out_dir)
    manifest = manifest or load_manifest(out)
    snaps = manifest["files"]["rosters"]
    if snaps:
        for s in snaps:
            yield TimelineItem(datetime.fromisoformat(s["effective_at"]), "roster",
                               RosterLoad(s["month"], out / s["path"], s["members"]))
    else:
        period = manifest["period"]
        at = datetime.fromisoformat(period["start"]).replace(tzinfo=ZoneInfo(period["timezone"]))
        yield TimelineItem(at, "roster", RosterLoad(period["start"][:7], out / manifest["files"]["roster"],
                                                    manifest["counts"]["members"]))


def iter_timeline(out_dir: str | Path, *, start: datetime | None = None, end: datetime | None = None,
                  kinds: Iterable[Kind] = ("roster", "claims", "adt")) -> Iterator[TimelineItem]:
    """Everything in simulated-time order; ``start``/``end`` (aware) keep [start, end)."""
    manifest = load_manifest(out_dir)
    wanted = set(kinds)
    sources = []
    if "roster" in wanted:
        sources.append(iter_rosters(out_dir, manifest))
    if "claims" in wanted:
        sources.append(iter_claim_batches(out_dir, manifest))
    if "adt" in wanted:
        sources.append(iter_adt(out_dir, manifest))
    merged = heapq.merge(*sources, key=lambda it: (it.at, _PRIORITY[it.kind]))
    for item in merged:
        if start is not None and item.at < start:
            continue
        if end is not None and item.at >= end:
            break
        yield item
