#!/usr/bin/env python3
"""Coverage-guided fuzzing (atheris / libFuzzer) of every parser that reads outside input,
for N seconds per target; prints executions and findings.

    python bench/fuzz_atheris.py                       # every target, 30 s each
    python bench/fuzz_atheris.py --seconds 300 hl7 x12 # chosen targets, longer
    python bench/fuzz_atheris.py --list

Targets and the property each input must satisfy (the same checks as tests/fuzz):

- ``hl7``: reader + validator + mapping + ACK: never raises; the ACK parses, MSA-1 is the
  code, MSA-2 echoes MSH-10, a NAK has an ERR;
- ``mllp``: the MLLP decoder, the input fed in two chunks: same events as in one piece, and
  every byte is in a frame, a cut-short frame or junk;
- ``x12``: the 837 parser: never raises; claims not loaded are rejected; a rejected claim or
  set carries its text;
- ``claims_csv`` / ``roster_csv``: every non-blank row is loaded or rejected with its text;
- ``claims_json``: loaded or rejected, never raises;
- ``adt_json``: the gateway's JSON ingest: accepted or rejected-and-dead-lettered;
- ``event``: ``shared.codec.decode``: an event or ``InvalidEvent``, nothing else.

A finding is an exception or a broken property. Each distinct one (exception type and the
innermost project frame) is written once to ``--findings`` (default var/fuzz/findings) with
its traceback and the input (hex), and fuzzing goes on. The seed corpus is the valid inputs
of tests/fuzz/corpus.py; libFuzzer's grown corpus is kept in var/fuzz/corpus/<target>.
Needs ``pip install atheris`` (a manylinux wheel; no compiler needed on x86-64 Linux).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGETS = ("hl7", "mllp", "x12", "claims_csv", "roster_csv", "claims_json", "adt_json", "event")


# ---------------------------------------------------------------------------- child: one target

def _seeds(target: str) -> list[bytes]:
    from tests.fuzz import corpus

    if target in ("hl7", "mllp"):
        texts = corpus.seed_hl7()
        if target == "mllp":
            return [b"".join(b"\x0b" + t.encode() + b"\x1c\r" for t in texts[:3]), b"\r\n\x0bMSH|\x1c"]
        return [t.encode() for t in texts]
    return [t.encode("utf-8") for t in {
        "x12": corpus.seed_837, "claims_csv": corpus.seed_claims_csv, "roster_csv": corpus.seed_roster_csv,
        "claims_json": corpus.seed_claims_json, "adt_json": corpus.seed_adt_json,
        "event": lambda: [__import__("shared.codec", fromlist=["encode"]).encode(
            __import__("tests.unit.admissions.builders", fromlist=["adt"]).adt())[1].decode()],
    }[target]()]


def _checker(target: str):
    """The function an input goes through; it raises on a finding."""
    import asyncio
    import io

    if target == "hl7":
        from tests.fuzz.test_hl7_mllp import check_ack

        return check_ack
    if target == "mllp":
        from tests.fuzz.test_hl7_mllp import covers, decode_all, merged

        def mllp(data: bytes) -> None:
            cut = data[0] % (len(data) + 1) if data else 0
            whole = merged(decode_all(data, []))
            assert merged(decode_all(data, [cut])) == whole, "chunking changed the frames"
            assert covers(whole, data), "bytes lost"

        return mllp
    if target == "x12":
        from tests.fuzz.test_claim_and_roster_files import check_837

        return lambda data: check_837(data.decode("latin-1"))
    if target in ("claims_csv", "roster_csv"):
        from services.intake.domain import iter_claims_csv, iter_roster_csv
        from tests.fuzz.test_claim_and_roster_files import check_csv

        parse = iter_claims_csv if target == "claims_csv" else iter_roster_csv
        return lambda data: check_csv(parse, data.decode("utf-8", "replace"))
    if target == "claims_json":
        from services.intake.domain import iter_claims_json

        def claims_json(data: bytes) -> None:
            out = list(iter_claims_json(io.StringIO(data.decode("utf-8", "replace"), newline="")))
            assert out, "neither loaded nor rejected"

        return claims_json
    if target == "adt_json":
        from tests.fuzz.test_hl7_mllp import Feed, gateway

        def adt_json(data: bytes) -> None:
            feed = Feed()
            r = asyncio.run(gateway(feed).handle_json(data))
            assert r.status in ("accepted", "duplicate", "rejected")
            assert r.status != "rejected" or [raw for raw, _, _ in feed.dead] == [data], "rejected, not kept"

        return adt_json
    if target == "event":
        from shared.codec import decode
        from shared.errors import InvalidEvent

        def event(data: bytes) -> None:
            try:
                decode(data, None)
            except InvalidEvent:
                pass

        return event
    raise SystemExit(f"unknown target {target}")


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/services/" in f.filename or "/shared/" in f.filename] or frames
    f = ours[-1]
    return f"{os.path.relpath(f.filename, REPO)}:{f.lineno} ({f.name})"


def child(target: str, seconds: int, findings: Path, corpus_dir: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["services", "shared"]):
        check = _checker(target)
    findings.mkdir(parents=True, exist_ok=True)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for seed in _seeds(target):
        (corpus_dir / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    seen: set[str] = set()
    log = findings / f"{target}.jsonl"

    def one(data: bytes) -> None:
        try:
            check(data)
        except Exception as exc:  # noqa: BLE001 - every exception is a finding; fuzzing goes on
            key = f"{type(exc).__name__} at {_where(exc)}"
            if key in seen:
                return
            seen.add(key)
            name = findings / f"{target}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.txt"
            name.write_text(f"{key}\n\n{''.join(traceback.format_exception(exc))[-4000:]}\ninput ({len(data)} bytes, "
                            f"hex):\n{data[:4096].hex()}\n")
            with open(log, "a") as fh:
                fh.write(json.dumps({"target": target, "finding": key, "file": str(name)}) + "\n")

    sys.setrecursionlimit(1000)
    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", "-timeout=20", "-rss_limit_mb=1536",
                   "-max_len=8192", "-print_final_stats=1", str(corpus_dir)], one)
    atheris.Fuzz()


# ---------------------------------------------------------------------------- parent: the report

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", default=list(TARGETS))
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--findings", type=Path, default=REPO / "var" / "fuzz" / "findings")
    ap.add_argument("--corpus", type=Path, default=REPO / "var" / "fuzz" / "corpus")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.list:
        print("\n".join(TARGETS))
        return 0
    if args.child:
        child(args.child, args.seconds, args.findings, args.corpus / args.child)
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        ap.error(f"unknown target(s): {', '.join(sorted(unknown))} (see --list)")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; {args.seconds} s per target")
    rows, total_findings = [], 0
    for target in args.targets:
        (args.findings / f"{target}.jsonl").unlink(missing_ok=True)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, __file__, "--child", target, "--seconds", str(args.seconds),
                               "--findings", str(args.findings), "--corpus", str(args.corpus)],
                              capture_output=True, text=True, timeout=args.seconds + 300, cwd=REPO)
        elapsed = time.monotonic() - started
        runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", proc.stderr) or \
            re.findall(r"Done (\d+) runs", proc.stderr)
        executions = int(runs[-1]) if runs else 0
        log = args.findings / f"{target}.jsonl"
        found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        total_findings += len(found)
        crashed = proc.returncode not in (0,) and not runs
        rows.append((target, executions, executions / max(elapsed, 1e-9), len(found), crashed))
        print(f"{target:12s} {executions:>10,d} executions {executions / max(elapsed, 1e-9):>9,.0f}/s "
              f"{len(found):>3d} finding(s){'  (fuzzer stopped: ' + proc.stderr[-300:] + ')' if crashed else ''}")
        for f in found:
            print(f"    - {f['finding']}  [{os.path.relpath(f['file'], REPO)}]")
        print("RESULT " + json.dumps({"figure": f"fuzz {target} executions", "value": executions, "unit": "runs",
                                      "findings": len(found)}))
    print(f"total: {sum(r[1] for r in rows):,d} executions, {total_findings} distinct finding(s)")
    return 1 if total_findings else 0


if __name__ == "__main__":
    sys.exit(main())
