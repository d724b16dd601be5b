"""Reference data read from files: contract tier policies, practice hours, the avoidable ED list,
normalization factors. Errors name the file and the rule."""

from __future__ import annotations

from pathlib import Path

import yaml

from .. import CONTRACTS_DIR, DATA_DIR
from ..domain.avoidable import AvoidableList, parse_avoidable
from ..domain.opening_hours import PracticeHours, parse_practice_hours
from ..domain.tiers import TierPolicy, parse_policy

DEFAULT_HOURS_FILE = DATA_DIR / "practice_hours.yaml"
AVOIDABLE_DIR = DATA_DIR / "avoidable_ed"
NORMALIZATION_FILE = DATA_DIR / "normalization.yaml"


def _yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise SystemExit(f"{path}: not valid YAML ({exc.__class__.__name__})") from None


def load_policies(directory: Path | str = CONTRACTS_DIR) -> dict[str, TierPolicy]:
    out: dict[str, TierPolicy] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            policy = parse_policy(_yaml(path), path.name)  # type: ignore[arg-type]
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        if policy.contract_id in out:
            raise SystemExit(f"{path.name}: contract {policy.contract_id} has two policy files")
        out[policy.contract_id] = policy
    return out


def load_practice_hours(path: Path | str | None = None) -> dict[str, PracticeHours]:
    p = Path(path) if path else DEFAULT_HOURS_FILE
    try:
        return parse_practice_hours(_yaml(p), p.name)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def load_avoidable_list(directory: Path | str = AVOIDABLE_DIR) -> AvoidableList:
    d = Path(directory)
    meta = _yaml(d / "list.yaml")
    return parse_avoidable((d / meta["codes_file"]).read_text(), meta)  # type: ignore[index,arg-type]


def load_normalization(path: Path | str = NORMALIZATION_FILE) -> dict:
    return _yaml(Path(path))  # type: ignore[return-value]
