"""Feed the platform through its front doors the way a hospital interface engine and a payer do,
and keep the sender's side of the books.

- ADT over MLLP (carectl.mllp_client.MllpClient, one connection, the generator's order): a
  message is resent until it is accepted (AA/CA). An AE/CE (application error: the listener
  says "send it again" when Kafka does not confirm) or no answer at all (listener killed) is
  retried after a short pause; an AR/CR is counted as rejected and the feed moves on. The feed
  is clean (no malformed messages), so every message should end accepted.
- Claims: the generator's 837P/837I files POSTed to the intake API's /claims/files; a connection
  error or a 5xx is retried (a reload of the same file is safe: same claim ids).
- Roster: roster.csv POSTed to /roster/files before the chaos starts.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from carectl.mllp_client import MessageResult, MllpClient
from carectl.synth import AdtItem, SynthConfig, generate, iter_adt, iter_claim_batches

ADMIN = {"Authorization": "Bearer dev-admin"}


def make_population(out: Path, *, members: int, months: int, seed: int = 11, start=None) -> dict:
    """A synthetic population with clean ADT (no malformed messages: the fuzz suite covers those)."""
    from datetime import date

    cfg = SynthConfig(members=members, seed=seed, start=start or date(2026, 5, 1), months=months,
                      malformed_rate=0.0)
    return generate(cfg, out)


def adt_items(out: Path) -> list[AdtItem]:
    return [t.data for t in iter_adt(out)]


def claim_files(out: Path) -> list[tuple[str, Path]]:
    """(batch label, file) for every 837 file, in delivery order."""
    files = []
    for t in iter_claim_batches(out):
        b = t.data
        for p in (b.path_837p, b.path_837i):
            if p is not None:
                files.append((b.label, p))
    return files


def claims_in_batch(csv_path: Path) -> set[tuple[str, str]]:
    """(claim id, frequency code) of every claim of a delivery, from its CSV twin."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        return {(r["claim_id"], r["frequency_code"]) for r in csv.DictReader(fh)}


# --------------------------------------------------------------------------- ADT over MLLP
@dataclass
class AdtTally:
    sent: int = 0                   # frames written (first sends and resends)
    acknowledged: int = 0           # messages accepted (AA/CA), each counted once
    naked: int = 0                  # AE/AR/CE/CR answers received (resent when they ask for it)
    no_answer: int = 0              # sends without an answer (connection refused/lost, timeout)
    rejected: int = 0               # NAKs that were not "send it again": not resent
    codes: Counter = field(default_factory=Counter)
    accepted: dict[tuple[str, str], float] = field(default_factory=dict)  # (facility, MSH-10) -> time of the AA
    nak_latencies: list[float] = field(default_factory=list)  # seconds from write to the NAK
    done: bool = False

    def as_dict(self) -> dict:
        return {"sent": self.sent, "acknowledged": self.acknowledged, "naked": self.naked,
                "no_answer": self.no_answer, "rejected": self.rejected, "codes": dict(self.codes)}


def sending_facility(item: AdtItem) -> str:
    msh = item.message.split(b"\r", 1)[0].split(b"|")
    return msh[3].decode() if len(msh) > 3 else ""


async def send_adt(host: str, port: int, items: list[AdtItem], tally: AdtTally, *, rate: float | None = None,
                   deadline: float | None = None, retry_pause: float = 0.3) -> AdtTally:
    """Send every item in order over one connection, each until accepted (or ``deadline``)."""
    results: asyncio.Queue[MessageResult] = asyncio.Queue()
    client = MllpClient(host, port, connections=1, ack_timeout=15.0, connect_timeout=3.0, retries=2,
                        backoff=0.2, rate=None, on_result=results.put_nowait)
    interval = 1.0 / rate if rate else 0.0

    async def messages():
        next_at = time.monotonic()
        for item in items:
            key = (sending_facility(item), item.control_id)
            while True:
                if deadline is not None and time.monotonic() > deadline:
                    return
                if interval:
                    next_at = max(next_at + interval, time.monotonic() - 1.0)
                    pause = next_at - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
                tally.sent += 1
                yield item.message
                res = await results.get()
                if res.code:
                    tally.codes[res.code] += 1
                if res.code in ("AA", "CA"):
                    tally.acknowledged += 1
                    tally.accepted.setdefault(key, time.time())
                    break
                if res.code:
                    tally.naked += 1
                    if res.latency is not None:
                        tally.nak_latencies.append(res.latency)
                    if res.code not in ("AE", "CE"):  # a reject: sending it again cannot help
                        tally.rejected += 1
                        break
                else:
                    tally.no_answer += 1
                await asyncio.sleep(retry_pause)

    await client.send(messages())
    tally.done = True
    return tally


# --------------------------------------------------------------------------- claims and roster
@dataclass
class FileTally:
    uploads: int = 0                # POSTs made (first ones and retries)
    failed_uploads: int = 0         # POSTs without a 200 (connection lost, 5xx)
    acknowledged: dict[str, dict] = field(default_factory=dict)  # file name -> first 200 report
    done: bool = False

    def as_dict(self) -> dict:
        return {"uploads": self.uploads, "failed_uploads": self.failed_uploads,
                "files_acknowledged": len(self.acknowledged),
                "claims_accepted": sum(r.get("accepted", 0) for r in self.acknowledged.values()),
                "claims_rejected": sum(r.get("rejected", 0) for r in self.acknowledged.values())}


async def upload(client: httpx.AsyncClient, url: str, path: Path, tally: FileTally, *,
                 deadline: float | None = None, pause: float = 1.0) -> dict | None:
    body = path.read_bytes()
    while deadline is None or time.monotonic() < deadline:
        tally.uploads += 1
        try:
            r = await client.post(url, params={"filename": path.name}, content=body,
                                  headers={**ADMIN, "content-type": "text/plain"}, timeout=120)
        except httpx.HTTPError:
            r = None
        if r is not None and r.status_code == 200:
            report = r.json()
            tally.acknowledged.setdefault(path.name, report)
            return report
        if r is not None and r.status_code < 500:
            raise AssertionError(f"{path.name}: the intake API refused the upload: {r.status_code} {r.text[:500]}")
        tally.failed_uploads += 1
        await asyncio.sleep(pause)
    return None


async def send_claims(base_url: str, files: list[tuple[str, Path]], tally: FileTally, *,
                      pause_between: float = 0.0, deadline: float | None = None) -> FileTally:
    async with httpx.AsyncClient() as client:
        for _label, path in files:
            await upload(client, f"{base_url}/claims/files", path, tally, deadline=deadline)
            if pause_between:
                await asyncio.sleep(pause_between)
    tally.done = True
    return tally


def load_roster(base_url: str, path: Path, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = httpx.post(f"{base_url}/roster/files", params={"filename": path.name}, content=path.read_bytes(),
                           headers={**ADMIN, "content-type": "text/csv"}, timeout=120)
            if r.status_code == 200:
                return r.json()
            last = f"{r.status_code} {r.text[:300]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(1)
    raise AssertionError(f"roster load did not succeed: {last}")
