"""Non-medical referrals from diagnoses: social needs → social worker, obesity with
diabetes or hypertension → dietician. The rules are configuration (``referrals`` in rules.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from shared.events import Evidence

from .model import Task, task_key
from .rules import ReferralRule, RulesConfig


@dataclass(frozen=True)
class ReferralMatch:
    rule: ReferralRule
    trigger_codes: tuple[str, ...]  # codes of this event that match the rule
    known_codes: tuple[str, ...]  # earlier codes that complete the rule


def _matches_group(code: str, group) -> bool:
    return any(m.matches(code) for m in group)


def match_referrals(codes_now: frozenset[str], known: frozenset[str], rules: RulesConfig) -> list[ReferralMatch]:
    """The referral rules this event's diagnoses trigger, given what was known before."""
    everything = codes_now | known
    out = []
    for rule in rules.referrals:
        if not all(any(_matches_group(c, g) for c in everything) for g in rule.all_of):
            continue
        trigger = tuple(sorted(c for c in codes_now if any(_matches_group(c, g) for g in rule.all_of)))
        if not trigger:
            continue
        # For each group the trigger does not cover, the earlier codes that satisfy it.
        uncovered = [g for g in rule.all_of if not any(_matches_group(c, g) for c in trigger)]
        known_used = tuple(sorted({c for c in known for g in uncovered if _matches_group(c, g)}))
        out.append(ReferralMatch(rule, trigger, known_used))
    return out


def referral_key(member_id: str, rule: ReferralRule) -> str:
    return task_key(member_id, "referral", rule.id)


def recently_referred(tasks: tuple[Task, ...], key: str, day: date, rule: ReferralRule, tz: tzinfo) -> bool:
    """A task for this rule was created less than ``renew_after_days`` before ``day``."""
    for task in tasks:
        if task.key == key and (day - task.created_at.astimezone(tz).date()).days < rule.renew_after_days:
            return True
    return False


def referral_reason(match: ReferralMatch, source: str) -> str:
    groups = " and ".join("/".join(m.label() for m in g) for g in match.rule.all_of)
    text = f"diagnosis {', '.join(match.trigger_codes)} on {source}"
    if match.known_codes:
        text += f"; known for the member: {', '.join(match.known_codes)}"
    return f"{text} (rule: {groups})"[:500]


def referral_evidence(match: ReferralMatch, on: date, claim_id: str | None) -> tuple[Evidence, ...]:
    return tuple(Evidence(code=code, code_system="ICD10CM", date=on, claim_id=claim_id) for code in match.trigger_codes)


def source_label(kind: str, ref: str | None, on: date | datetime) -> str:
    day = on.date() if isinstance(on, datetime) else on
    return f"{kind} {ref} of {day.isoformat()}" if ref else f"{kind} of {day.isoformat()}"
