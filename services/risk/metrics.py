"""Every Prometheus metric of the risk service. Labels: contract, tier, practice, period: bounded sets."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MEMBERS_SCORED = Counter("risk_members_scored_total", "Member assessments stored (committed)", ["trigger"])
TIER_CHANGES = Counter("risk_tier_changes_total", "Tier changes published on risk.tiers",
                       ["contract", "old_tier", "new_tier"])
FULL_RESCORE_SECONDS = Gauge("risk_full_rescore_seconds", "Duration of the last full re-score")
FULL_RESCORE_MEMBERS = Gauge("risk_full_rescore_members", "Members assessed by the last full re-score")
ED_VISITS = Gauge("risk_ed_visits", "Attributed members' ED visits, by practice, program period and hours",
                  ["practice", "period", "hours"])
ED_CLOSED_SHARE = Gauge("risk_ed_closed_hours_share", "Share of ED visits with a known time that fell in the "
                        "practice's closed hours", ["practice", "period"])
ED_AVOIDABLE_SHARE = Gauge("risk_ed_avoidable_share", "Share of ED visits whose primary diagnosis is on the "
                           "avoidable list (AHRQ PQE)", ["practice", "period"])
ED_EXTENDED_SLOT = Gauge("risk_ed_visits_in_extended_slots", "ED visits at times the extended-hours program "
                         "opened", ["practice", "period"])
ED_EVIDENCE_SECONDS = Histogram("risk_ed_evidence_seconds", "Time to compute the ED evidence over all members")


def set_evidence_gauges(summary: dict) -> None:
    for practice, periods in summary.items():
        for period, row in periods.items():
            for hours in ("open", "closed", "unknown"):
                ED_VISITS.labels(practice, period, hours).set(row[f"{hours}_hours"])
            ED_CLOSED_SHARE.labels(practice, period).set(row["closed_share"] if row["closed_share"] is not None
                                                         else float("nan"))
            ED_AVOIDABLE_SHARE.labels(practice, period).set(row["avoidable_share"] if row["avoidable_share"]
                                                            is not None else float("nan"))
            ED_EXTENDED_SLOT.labels(practice, period).set(row["in_extended_slots"])
