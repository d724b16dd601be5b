"""Plain-language wording of what the platform knows, for the member to read.

Short sentences, everyday words, the action first ("Schedule a mammogram."). Nothing here
shows a code, a queue name or a score: those are for staff. Dates are written out
("Thursday 10 December 2026") in the member's time zone by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from .model import CareTask, Encounter, Gap


@dataclass(frozen=True)
class GapAdvice:
    title: str
    action: str
    why: str
    when: str | None = None       # "By Thursday 31 December 2026", "Done: good until ..."


_GAPS: dict[str, tuple[str, str, str]] = {
    "CMS125": ("Breast cancer screening",
               "Schedule a mammogram.",
               "A mammogram every two years helps find breast cancer early, when it is easier to treat."),
    "CMS130": ("Colon cancer screening",
               "Ask your doctor which colon cancer screening test is right for you. "
               "A stool test you do at home is one choice; a colonoscopy is another.",
               "Screening can find colon cancer early, or stop it before it starts."),
    "CMS122": ("Diabetes blood sugar test (HbA1c)",
               "Get an HbA1c blood test at your doctor's office or lab.",
               "We do not have an HbA1c result under 9% for you this year. "
               "Keeping it lower protects your eyes, kidneys, nerves and heart."),
    "CMS165": ("Blood pressure check",
               "Have your blood pressure checked at a visit with your doctor. "
               "If you check it at home, bring your readings.",
               "We do not have a blood pressure reading under 140/90 for you this year. "
               "Keeping it lower protects your heart, brain and kidneys."),
    "FUP": ("Follow-up visit after your hospital stay",
            "Book a visit with your doctor. It can be in person, by video or by phone.",
            "A visit soon after you leave the hospital helps you recover and stay out of the hospital."),
}

_ROLES = {
    "quality_nurse": "Nurse care coordinator",
    "care_navigator": "Care navigator",
    "social_worker": "Social worker",
    "dietician": "Dietitian",
}

TOPIC_LABELS: dict[str, str] = {
    "care_question": "A question about my care",
    "appointment": "An appointment",
    "medication": "My medicines",
    "social_needs": "Help with food, housing, transport or bills",
    "nutrition": "Food and healthy eating",
}


def long_date(day: date) -> str:
    """``Thursday 10 December 2026`` (no leading zero)."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def local_time(moment: datetime, tz: tzinfo) -> str:
    m = moment.astimezone(tz)
    hour = m.hour % 12 or 12
    return f"{long_date(m.date())} at {hour}:{m.minute:02d} {'am' if m.hour < 12 else 'pm'}"


def role_name(role: str) -> str:
    return _ROLES.get(role, "Care team")


def gap_title(measure_id: str) -> str:
    return _GAPS.get(measure_id, ("A check-up your care team recommends", "", ""))[0]


def gap_advice(gap: Gap, today: date) -> GapAdvice:
    title, action, why = _GAPS.get(gap.measure_id, (
        "A check-up your care team recommends", "Talk to your doctor about it at your next visit.",
        "Your care team keeps track of check-ups that keep you well."))
    when = None
    if gap.status == "open":
        due = gap.due_date or gap.period_end
        if due < today:
            when = f"This was due by {long_date(due)}. It is not too late."
        else:
            when = f"Best done by {long_date(due)}."
    elif gap.status == "due_soon":
        action = "Due again soon. " + action
        when = f"Your last one counts until {long_date(gap.due_date or gap.period_end)}."
    return GapAdvice(title, action, why, when)


def task_wording(task: CareTask, today: date) -> tuple[str, str]:
    """(what the care team will do, its status in words)."""
    if task.kind == "tcm":
        what = "A nurse will call you to see how you are doing after your hospital stay."
    elif task.kind == "gap":
        measure = task.reason_key.split("|")[0] if task.reason_key else ""
        what = f"Your care team will contact you about: {gap_title(measure).lower()}."
    elif task.kind == "social":
        what = "A social worker will contact you about help with everyday needs, like food, housing or transport."
    elif task.kind == "dietician":
        what = "A dietitian will contact you about healthy eating."
    elif task.kind == "message":
        what = "Your care team is answering your message."
    else:
        what = "Your care team will contact you."
    return what, task_status_words(task, today)


def task_status_words(task: CareTask, today: date) -> str:
    s = task.status
    if s == "scheduled" and task.appointment_date:
        return f"Appointment booked for {long_date(task.appointment_date)}."
    if s in ("open", "claimed", "in_progress"):
        if task.due_date is None:
            return "Planned." if s != "in_progress" else "In progress."
        if task.due_date < today:
            return f"Planned for {long_date(task.due_date)}. We are running late; we will still contact you."
        if task.due_date == today:
            return "Planned for today."
        return f"Planned by {long_date(task.due_date)}."
    if s == "done":
        return "Done."
    if s == "unable_to_reach":
        return "We tried to reach you and could not. Please call your practice."
    return "Cancelled."


def encounter_wording(enc: Encounter, facility_name: str, tz: tzinfo) -> tuple[str, str]:
    """(headline, details) of a hospital stay or emergency visit."""
    where = facility_name
    if enc.setting == "emergency":
        head = f"Emergency department visit at {where}"
    else:
        head = f"Hospital stay at {where}"
    start = local_day(enc.started_at, tz) if enc.started_at else None
    end = local_day(enc.ended_at, tz) if enc.ended_at else None
    if enc.status == "in_progress":
        detail = f"Since {long_date(start)}." if start else "Going on now."
    elif start and end and start != end:
        days = (end - start).days
        detail = f"{long_date(start)} to {long_date(end)} ({days} night{'s' if days != 1 else ''})."
    elif end or start:
        detail = f"{long_date(end or start)}."  # type: ignore[arg-type]
    else:
        detail = ""
    return head, detail


def appointment_wording(task: CareTask) -> str:
    if task.kind == "tcm":
        return "Follow-up visit after your hospital stay"
    if task.kind == "gap":
        return gap_title(task.reason_key.split("|")[0] if task.reason_key else "")
    if task.kind == "social":
        return "Meeting with a social worker"
    if task.kind == "dietician":
        return "Meeting with a dietitian"
    return "Appointment with your care team"
