"""Generate a population and write every output file plus manifest.json.

Layout of the output directory:

    manifest.json                  counts, rates, seed, config, period, every file
    roster.csv                     all members of the period (final eligibility spans)
    rosters/roster-YYYY-MM.csv     full roster snapshot effective at each month start
    adt/adt-YYYY-MM.hl7            ADT messages sent that month, in send order; each message
                                   is its segments joined and ended by CR, messages separated by LF
    adt/adt-YYYY-MM.index.csv      one row per message: time, MSH-10, trigger, expected outcome
    claims/837P-<label>.x12        professional claims delivered in one window
    claims/837I-<label>.x12        institutional claims delivered in the same window
    claims/claims-<label>.csv      the same claims as CSV (an alternative encoding: load one or the other)

People are generated one at a time; ADT messages and claims are spilled to per-month and
per-window buckets and each bucket is sorted and written on its own.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import random
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.formats import CLAIM_CSV_COLUMNS, ROSTER_COLUMNS

from . import reference as ref
from .care import CareHistory, CareModel
from .claims import Claim, ClaimFactory
from .config import SynthConfig, add_months
from .hl7v2 import AdtBuilder, AdtRecord, malformed
from .population import Person, make_person, person_rng
from .csvfiles import claim_csv_rows, roster_row
from .spill import Bucket
from .stats import PopulationStats
from .x12 import X12Writer

MANIFEST_FORMAT = "ccp-synth/1"
ADT_INDEX_COLUMNS = ("seq", "sent_at", "control_id", "facility", "trigger", "patient_class", "member_id",
                     "patient_key", "visit_number", "matchable", "expect", "malformed")

Progress = Callable[[str, int, int], None]


def non_rostered_count(cfg: SynthConfig) -> int:
    s = cfg.unattributed_share
    return round(cfg.members * s / (1 - s)) if s else 0


class World:
    """The fixed parts of a run: hospitals, practices, who bills, and the generators."""

    def __init__(self, cfg: SynthConfig) -> None:
        self.cfg = cfg
        self.hospitals = ref.make_hospitals(cfg.hospitals)
        self.practices = ref.make_practices(cfg.practices, len(self.hospitals))
        self.orgs = ref.organisations(self.hospitals, self.practices)
        self.people = ref.clinicians(self.practices)
        self.care = CareModel(cfg, self.hospitals, self.practices)
        self.claims = ClaimFactory(cfg, self.hospitals)
        self.adt = AdtBuilder(self.hospitals, cfg.tz)

    def person(self, idx: int) -> Person:
        return make_person(self.cfg, self.hospitals, self.practices, idx, rostered=idx < self.cfg.members)

    def simulate(self, idx: int) -> tuple[CareHistory, list[Claim], list[AdtRecord]]:
        p = self.person(idx)
        hist = self.care.simulate(p)
        claims = self.claims.claims_for(hist)
        msgs = self.adt.messages(hist, person_rng(self.cfg.seed, idx, 3))
        return hist, claims, msgs


def iter_people(cfg: SynthConfig, include_non_rostered: bool = False):
    """The population in memory, person by person, with each one's care, claims and ADT records."""
    world = World(cfg)
    total = cfg.members + (non_rostered_count(cfg) if include_non_rostered else 0)
    for idx in range(total):
        yield world.simulate(idx)


def generate(cfg: SynthConfig, out_dir: str | Path, progress: Progress | None = None) -> dict[str, Any]:
    """Write the population of ``cfg`` under ``out_dir`` and return the manifest (also written)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("adt", "claims", "rosters"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        (out / sub).mkdir()
    tmp = out / ".tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    world = World(cfg)
    tz = cfg.tz
    months = cfg.month_starts()
    windows = cfg.batch_windows()
    win_starts = [w[0] for w in windows]
    adt_buckets = [Bucket(tmp / f"adt-{i}.pkl") for i in range(len(months))]
    claim_buckets = [Bucket(tmp / f"claims-{i}.pkl", flush_at=2000) for i in range(len(windows))]
    history_bucket = Bucket(tmp / "claims-history.pkl", flush_at=2000)
    month_epochs = [cfg.local(m).timestamp() for m in months]
    period_lo, period_hi = cfg.local(cfg.start).timestamp(), cfg.local(cfg.end).timestamp()
    stats = PopulationStats()
    total = cfg.members + non_rostered_count(cfg)

    roster_fh = open(out / "roster.csv", "w", newline="", encoding="utf-8")
    roster = csv.writer(roster_fh, lineterminator="\n")
    roster.writerow(ROSTER_COLUMNS)
    snap_fhs: list[io.TextIOWrapper] = []
    snaps = []
    snap_counts = [0] * len(months)
    if cfg.monthly_rosters:
        for m in months:
            fh = open(out / "rosters" / f"roster-{m:%Y-%m}.csv", "w", newline="", encoding="utf-8")
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(ROSTER_COLUMNS)
            snap_fhs.append(fh)
            snaps.append(w)
    try:
        for idx in range(total):
            hist, claims, msgs = world.simulate(idx)
            p = hist.person
            stats.add(cfg, hist)
            if p.rostered:
                prac = world.practices[p.practice]
                roster.writerow(roster_row(p, prac))
                for mi, m in enumerate(months if cfg.monthly_rosters else ()):
                    nxt = add_months(m, 1)
                    end = p.eligibility_end
                    if p.eligibility_start < nxt and (end is None or end >= m):
                        snaps[mi].writerow(roster_row(p, prac, show_end=end is not None and end < nxt))
                        snap_counts[mi] += 1
            for rec in msgs:
                if not period_lo <= rec.send_epoch < period_hi:
                    continue          # sent before or after the period (an early pre-admit, a late merge)
                adt_buckets[max(0, bisect.bisect_right(month_epochs, rec.send_epoch) - 1)].add(rec)
            for c in claims:
                if c.received == world.claims.history_received and c.frequency == "1" and c.statement_to < cfg.start:
                    history_bucket.add(c)
                else:
                    i = bisect.bisect_right(win_starts, c.received.date()) - 1
                    claim_buckets[min(max(i, 0), len(windows) - 1)].add(c)
            if progress and (idx % 1000 == 0 or idx == total - 1):
                progress("people", idx + 1, total)
    finally:
        roster_fh.close()
        for fh in snap_fhs:
            fh.close()

    files: dict[str, Any] = {"roster": "roster.csv", "rosters": [], "adt": [], "claims": []}
    for mi, m in enumerate(months if cfg.monthly_rosters else ()):
        files["rosters"].append({"month": f"{m:%Y-%m}", "path": f"rosters/roster-{m:%Y-%m}.csv",
                                 "effective_at": cfg.local(max(m, cfg.start)).isoformat(),
                                 "members": snap_counts[mi]})

    # --- ADT, month by month ------------------------------------------------------------
    adt_triggers: Counter[str] = Counter()
    malformed_kinds: Counter[str] = Counter()
    control: Counter[str] = Counter()
    for mi, m in enumerate(months):
        recs: list[AdtRecord] = adt_buckets[mi].drain()
        recs.sort(key=lambda r: (r.send_epoch, r.seq))
        rng = random.Random(f"{cfg.seed}:malformed:{m:%Y-%m}")
        name = f"adt-{m:%Y-%m}"
        n_bad = 0
        first = last = ""
        with open(out / "adt" / f"{name}.hl7", "wb") as hl7_fh, \
                open(out / "adt" / f"{name}.index.csv", "w", newline="", encoding="utf-8") as idx_fh:
            index = csv.writer(idx_fh, lineterminator="\n")
            index.writerow(ADT_INDEX_COLUMNS)
            seq = 0
            for rec in recs:
                control[rec.facility] += 1
                cid = f"{rec.facility}{control[rec.facility]:09d}"
                sent = datetime.fromtimestamp(rec.send_epoch, tz).isoformat()
                first = first or sent
                last = sent
                hl7_fh.write(rec.render(cid).encode("ascii", "replace") + b"\n")
                index.writerow([seq, sent, cid, rec.facility, rec.trigger, rec.patient_class, rec.member_id,
                                rec.patient_key, rec.visit_number, int(rec.matchable), "accept", ""])
                adt_triggers[rec.trigger] += 1
                seq += 1
                if cfg.malformed_kinds and rng.random() < cfg.malformed_rate:
                    kind = rng.choice(cfg.malformed_kinds)
                    control[rec.facility] += 1
                    bad_cid = f"{rec.facility}{control[rec.facility]:09d}"
                    hl7_fh.write(malformed(kind, rec, bad_cid, rng) + b"\n")
                    shown = "" if kind in ("garbage", "no_msh") else bad_cid
                    index.writerow([seq, sent, shown, rec.facility, "", "", rec.member_id, rec.patient_key,
                                    "", int(rec.matchable), "reject", kind])
                    malformed_kinds[kind] += 1
                    n_bad += 1
                    seq += 1
        files["adt"].append({"month": f"{m:%Y-%m}", "path": f"adt/{name}.hl7", "index": f"adt/{name}.index.csv",
                             "messages": seq, "malformed": n_bad, "first_at": first or None, "last_at": last or None})
        if progress:
            progress("adt", mi + 1, len(months))

    # --- claims, window by window -------------------------------------------------------
    batches: list[tuple[str, datetime, tuple[date, date] | None, Bucket]] = []
    if cfg.history:
        batches.append(("history", cfg.local(cfg.start), None, history_bucket))
    for (frm, to), b in zip(windows, claim_buckets):
        label = f"{frm:%Y-%m}" if cfg.claim_batch == "month" else f"{frm:%Y-%m-%d}"
        batches.append((label, cfg.local(to), (frm, to), b))
    claim_freq: Counter[str] = Counter()
    totals = Counter()
    for bi, (label, delivered, window, bucket) in enumerate(batches):
        items: list[Claim] = bucket.drain()
        items.sort(key=lambda c: (c.received, c.seq))
        entry = _write_claims_batch(cfg, world, out, label, delivered, bi, items)
        entry["window"] = [window[0].isoformat(), window[1].isoformat()] if window else None
        files["claims"].append(entry)
        for c in items:
            claim_freq[c.frequency] += 1
        totals["claims"] += entry["claims"]
        totals["lines"] += entry["lines"]
        totals["professional"] += entry["professional"]
        totals["institutional"] += entry["institutional"]
        if progress:
            progress("claims", bi + 1, len(batches))
    history_bucket.close()
    shutil.rmtree(tmp, ignore_errors=True)

    manifest = {
        "format": MANIFEST_FORMAT,
        "generator": "carectl.synth",
        "seed": cfg.seed,
        "period": {"start": cfg.start.isoformat(), "end": cfg.end.isoformat(), "end_exclusive": True,
                   "months": cfg.months, "timezone": cfg.timezone},
        "config": cfg.as_dict(),
        "counts": {
            "members": cfg.members,
            "patients_not_on_roster": non_rostered_count(cfg),
            "adt_messages": sum(f["messages"] for f in files["adt"]),
            "adt_malformed": sum(malformed_kinds.values()),
            "adt_by_trigger": dict(sorted(adt_triggers.items())),
            "adt_malformed_by_kind": dict(sorted(malformed_kinds.items())),
            "claims": totals["claims"],
            "claim_lines": totals["lines"],
            "claims_professional": totals["professional"],
            "claims_institutional": totals["institutional"],
            "claims_by_frequency": dict(sorted(claim_freq.items())),
        },
        "population": stats.as_dict(cfg.members),
        "contracts": {k: {"payer_id": v[0], "payer_name": v[1]} for k, v in ref.PAYERS.items()},
        "practices": [{"practice_id": p.practice_id, "npi": p.npi, "hospitalist_group": p.hospitalist_group,
                       "pod": p.pod, "home_hospital": world.hospitals[p.home_hospital].authority}
                      for p in world.practices],
        "hospitals": [{"authority": h.authority, "name": h.name, "npi": h.npi} for h in world.hospitals],
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _write_claims_batch(cfg: SynthConfig, world: World, out: Path, label: str, delivered: datetime,
                        index: int, items: list[Claim]) -> dict[str, Any]:
    """One delivery: an 837P and an 837I file (only if it has claims of that kind) and the CSV."""
    ctrl = {"837P": 2 * index + 1, "837I": 2 * index + 2}
    paths: dict[str, str | None] = {"837P": None, "837I": None, "csv": f"claims/claims-{label}.csv"}
    writers: dict[str, X12Writer] = {}
    handles = []
    common = dict(created=delivered, orgs=world.orgs, people=world.people, include_paid=cfg.include_paid,
                  line_breaks=cfg.x12_line_breaks, max_claims_per_st=cfg.max_claims_per_st)
    lines = Counter()
    kinds = Counter()
    try:
        with open(out / paths["csv"], "w", newline="", encoding="utf-8") as cf:
            w = csv.writer(cf, lineterminator="\n")
            w.writerow(CLAIM_CSV_COLUMNS)
            for c in items:
                key = "837P" if c.kind == "P" else "837I"
                wr = writers.get(key)
                if wr is None:
                    paths[key] = f"claims/{key}-{label}.x12"
                    fh = open(out / paths[key], "wb")
                    handles.append(fh)
                    wr = writers[key] = X12Writer(fh, c.kind, control=ctrl[key], batch_ref=f"{c.kind}{index:04d}",
                                                  **common)
                wr.add(c)
                kinds[key] += 1
                lines[key] += len(c.lines)
                w.writerows(claim_csv_rows(c, cfg.include_paid))
        segments = {k: wr.close().segments for k, wr in writers.items()}
    finally:
        for fh in handles:
            fh.close()
    return {
        "label": label,
        "delivered_at": delivered.isoformat(),
        "x12_837p": paths["837P"],
        "x12_837i": paths["837I"],
        "csv": paths["csv"],
        "claims": len(items),
        "lines": lines["837P"] + lines["837I"],
        "professional": kinds["837P"],
        "institutional": kinds["837I"],
        "segments": segments,
        "isa_control": {k: v for k, v in ctrl.items() if paths[k]},
    }
