"""What the patient portal needs from a synthetic population: each member's development sign-in
code (``portal-codes.csv``), a directory of names (practices, clinicians, hospitals) and a few
members worth signing in as (recent hospital stays, so there is a follow-up call due).

The codes are derived from the member id with the portal's development key
(``services.portal.domain.signin``), so they need no table; production refuses them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

from services.portal.domain.signin import dev_signin_code

from . import reference as ref
from .config import SynthConfig
from .timeline import iter_adt, load_manifest

CODES_FILE = "portal-codes.csv"


def _members(out: Path, manifest: dict[str, Any]) -> list[dict[str, str]]:
    with open(out / manifest["files"]["roster"], newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_portal_codes(out_dir: str | Path) -> Path:
    """``member_id,code`` for every member of the population (idempotent)."""
    out = Path(out_dir)
    manifest = load_manifest(out)
    path = out / CODES_FILE
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["member_id", "code"])
        for row in _members(out, manifest):
            w.writerow([row["member_id"], dev_signin_code(row["member_id"])])
    tmp.replace(path)
    return path


def directory(cfg: SynthConfig) -> dict[str, Any]:
    """The portal's directory file: names a member can read (all invented; 555-01xx numbers are fictional)."""
    hospitals = ref.make_hospitals(cfg.hospitals)
    practices = ref.make_practices(cfg.practices, len(hospitals))
    return {
        "practices": {p.practice_id: {"name": p.name, "phone": f"555-01{i % 100:02d}"}
                      for i, p in enumerate(practices)},
        "clinicians": {npi: {"name": f"Dr. {given} {family}"} for p in practices for npi, family, given in p.providers},
        "facilities": {h.authority: h.name for h in hospitals},
    }


def write_directory(out_dir: str | Path, path: str | Path) -> Path:
    cfg = SynthConfig.from_dict(load_manifest(out_dir)["config"])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(directory(cfg), sort_keys=True))
    return target


def portal_examples(out_dir: str | Path, n: int = 3, pod: str = "pod-east") -> list[dict[str, str]]:
    """Members to sign in as: the latest discharged members of ``pod`` (the demo nurse's pod),
    then other members of the pod."""
    out = Path(out_dir)
    manifest = load_manifest(out)
    members = {r["member_id"]: r for r in _members(out, manifest) if not r.get("eligibility_end")}
    in_pod = [m for m, r in members.items() if r.get("pod") == pod] or list(members)
    discharged: list[str] = []
    for item in iter_adt(out, manifest):
        a = item.data
        if a.trigger == "A03" and a.matchable and a.expect == "accept" and a.member_id in members \
                and members[a.member_id].get("pod") == pod:
            discharged.append(a.member_id)
    picks = list(dict.fromkeys(reversed(discharged)))[:n]
    picks += [m for m in in_pod if m not in picks][: n - len(picks)]
    return [{"member_id": m, "code": dev_signin_code(m), "name": members[m]["given_name"],
             "why": "back from the hospital recently" if m in discharged else "a member of pod-east"} for m in picks]


def write_examples(out_dir: str | Path, path: str | Path, n: int = 3) -> list[dict[str, str]]:
    examples = portal_examples(out_dir, n)
    Path(path).write_text(json.dumps(examples, indent=1))
    return examples
