"""Micro benchmark: the intake 837 parser (pyx12 segment reader + our loop mapping).

Writes a synthetic 837P (5010) file to a temporary directory (its own small writer, seeded),
then prints: pyx12 X12Reader tokenizing alone (segments/s), and iter_837 end to end,
validated ClaimV1 fields included (claims/s, claim lines/s). Target for the backfill: >= 3,000
claim lines/s for the whole intake -> gaps path.

    .venv/bin/python bench/x12_parse_micro.py [claims=5000] [lines_per_claim=2]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402 - RESULT lines for bench/run_all.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyx12.x12file import X12Reader  # noqa: E402

from services.intake.domain import ParsedClaim, iter_837  # noqa: E402

CODES = ["99213", "99214", "3044F", "3074F", "3078F", "82274", "77067", "45378", "80053", "36415"]


def write_837(path: Path, claims: int, lines: int, seed: int = 11) -> int:
    rng = random.Random(seed)
    segs = ["ISA*00*          *00*          *ZZ*BENCHSUBMIT    *ZZ*CAREPLATFORM   *260401*1200*^*00501*000000001*0*T*:",
            "GS*HC*BENCHSUBMIT*CAREPLATFORM*20260401*1200*1*X*005010X222A1"]
    per_st = 1000
    st_count = 0
    for first in range(0, claims, per_st):
        st_count += 1
        body = [f"ST*837*{st_count:04d}*005010X222A1", "BHT*0019*00*B1*20260401*1200*CH",
                "NM1*41*2*BENCH SUBMITTER*****46*S1", "PER*IC*DESK*TE*5555550100", "NM1*40*2*PLAN*****46*P1",
                "HL*1**20*1", "NM1*85*2*CLINIC*****XX*1234567893", "N3*1 MAIN ST", "N4*CITY*IL*62701",
                "REF*EI*123456789"]
        hl = 1
        for c in range(first, min(first + per_st, claims)):
            hl += 1
            body += [f"HL*{hl}*1*22*0", "SBR*P*18*G1******MB", f"NM1*IL*1*LAST*FIRST****MI*M{c % 100000:06d}",
                     "NM1*PR*2*PLAN*****PI*P1", f"CLM*B{c:08d}*{100 * lines}***11:B:1*Y*A*Y*Y", "HI*ABK:E119*ABF:I10"]
            for n in range(1, lines + 1):
                body += [f"LX*{n}", f"SV1*HC:{rng.choice(CODES)}*100*UN*1***1",
                         f"DTP*472*D8*2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"]
        body.append(f"SE*{len(body) + 1}*{st_count:04d}")
        segs += body
    segs += [f"GE*{st_count}*1", "IEA*1*000000001"]
    path.write_text("~\n".join(segs) + "~\n", encoding="ascii")
    return len(segs)


def main() -> None:
    claims = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    lines = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.837"
        nseg = write_837(path, claims, lines)
        size = path.stat().st_size
        t0 = time.perf_counter()
        with X12Reader(str(path)) as reader:
            count = sum(1 for _ in reader)
        t_tok = time.perf_counter() - t0
        t0 = time.perf_counter()
        ok = n_lines = rejected = 0
        for r in iter_837(path):
            if isinstance(r, ParsedClaim):
                ok += 1
                n_lines += r.line_count
            else:
                rejected += 1
        t_parse = time.perf_counter() - t0
    print(f"file: {claims:,} claims x {lines} lines, {nseg:,} segments, {size / 1e6:.1f} MB")
    print(f"pyx12 X12Reader alone: {count:,} segments in {t_tok:.2f} s = {count / t_tok:,.0f} segments/s")
    print(f"iter_837 (tokenize + map loops + validate ClaimV1 fields): {ok:,} claims, {rejected} rejected, "
          f"{t_parse:.2f} s = {ok / t_parse:,.0f} claims/s, {n_lines / t_parse:,.0f} claim lines/s")
    report("X12 837P parse (pyx12 tokenizer + our loop mapping + ClaimV1 validation)", n_lines / t_parse,
           "claim lines/s")


if __name__ == "__main__":
    main()
