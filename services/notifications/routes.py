"""The table: (topic, event type) -> use case. The worker subscribes to exactly these topics and
dispatches every event through this table; ``tests/unit/notifications`` checks it against the
topic registry's ``consumers`` (notifications is named where it consumes)."""

from __future__ import annotations

from shared import topics as reg

from .app import intake

ROUTES: dict[tuple[str, str], intake.UseCase] = {
    (reg.ROSTER, "roster.member"): intake.roster_changed,
    (reg.ADT, "adt.message"): intake.adt_message,
    (reg.ALERTS, "alert.raised"): intake.alert_raised,
    (reg.ALERTS, "alert.updated"): intake.alert_updated,
    (reg.ALERTS, "alert.retracted"): intake.alert_retracted,
    (reg.TRANSITIONS, "care.transition"): intake.discharged,
    (reg.TRANSITIONS, "care.transition_cancelled"): intake.discharge_cancelled,
    (reg.TRANSITIONS, "care.readmission"): intake.ignored,
    (reg.GAPS, "gap.opened"): intake.gap_changed,
    (reg.GAPS, "gap.closed"): intake.gap_changed,
    (reg.GAPS, "gap.excluded"): intake.gap_changed,
    (reg.TASKS, "task.lifecycle"): intake.task_changed,
}

TOPICS: tuple[str, ...] = tuple(dict.fromkeys(topic for topic, _ in ROUTES))
