"""A practice's opening hours as data: weekly schedule, holidays, time zone, program start.

A moment is in open hours when, in the practice's own time zone, its day is not a holiday and
its time falls in one of that weekday's intervals of the schedule in force that day (the one
before the extended-hours program, then the program's), start included, end excluded: against
a 19:00 close, 18:59 is open and 19:00 and 19:01 are closed. An *extended-hours slot* is a time
open under the program's schedule and closed under the one before: the ED visits that fall in
those slots, before and after the start, are the program's most direct evidence. A day with no intervals (a weekend
without hours, a holiday) is closed all day, so even a visit known only by its date (a claim)
is a closed-hours visit then; on other days a date alone cannot tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class PracticeHours:
    practice_id: str
    timezone: str
    weekly: tuple[tuple[tuple[time, time], ...], ...]   # index 0 = Monday; from the program's start if any
    holidays: frozenset[date] = frozenset()
    program_start: date | None = None                  # the extended-hours program's first day
    name: str = ""
    weekly_before: tuple[tuple[tuple[time, time], ...], ...] | None = None   # before the program

    def schedule_on(self, day: date) -> tuple[tuple[tuple[time, time], ...], ...]:
        if self.program_start is not None and day < self.program_start and self.weekly_before is not None:
            return self.weekly_before
        return self.weekly

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        if at.tzinfo is None:
            raise ValueError("a moment without a time zone cannot be placed in opening hours")
        local = at.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        return _within(self.schedule_on(local.date())[local.weekday()], local.time())

    def in_extended_slot(self, at: datetime) -> bool:
        """Open under the program's schedule and closed under the one before (any date, no holiday)."""
        if self.program_start is None or self.weekly_before is None or at.tzinfo is None:
            return False
        local = at.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        day = local.weekday()
        return _within(self.weekly[day], local.time()) and not _within(self.weekly_before[day], local.time())

    def closed_all_day(self, day: date) -> bool:
        return day in self.holidays or not self.schedule_on(day)[day.weekday()]

    def period_of(self, day: date) -> str:
        """``before`` / ``after`` the program's start, or ``no_program``."""
        if self.program_start is None:
            return "no_program"
        return "after" if day >= self.program_start else "before"

    def to_dict(self) -> dict:
        return {
            "practice_id": self.practice_id, "name": self.name, "timezone": self.timezone,
            "weekly": _show(self.weekly),
            "weekly_before_program": _show(self.weekly_before) if self.weekly_before is not None else None,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "extended_hours_program_start": self.program_start.isoformat() if self.program_start else None,
        }


def _within(intervals: tuple[tuple[time, time], ...], t: time) -> bool:
    t = t.replace(tzinfo=None)
    return any(start <= t < end for start, end in intervals)


def _show(weekly) -> dict:
    return {WEEKDAYS[i]: [f"{s:%H:%M}-{'24:00' if e == time.max else f'{e:%H:%M}'}" for s, e in day]
            for i, day in enumerate(weekly)}


def _weekly(spec: dict, where: str):
    unknown = set(spec) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"{where}: days are {', '.join(WEEKDAYS)}")
    return tuple(tuple(sorted(_interval(iv, f"{where}.{day}") for iv in (spec.get(day) or ())))
                 for day in WEEKDAYS)


def _interval(text: str, where: str) -> tuple[time, time]:
    try:
        a, b = str(text).split("-")
        start = time.fromisoformat(a.strip())
        end = time(0) if b.strip() in ("24:00", "24:00:00") else time.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"{where}: an interval is HH:MM-HH:MM") from None
    if end == time(0):
        end = time.max
    if end <= start:
        raise ValueError(f"{where}: an interval must end after it starts (overnight: split it at 24:00)")
    return start, end


def _days(value, where: str) -> frozenset[date]:
    out = set()
    for i, d in enumerate(value or ()):
        try:
            out.add(d if isinstance(d, date) else date.fromisoformat(str(d)))
        except ValueError:
            raise ValueError(f"{where}[{i}]: a date is YYYY-MM-DD") from None
    return frozenset(out)


def parse_practice_hours(data: dict, source: str = "<data>") -> dict[str, PracticeHours]:
    """Every practice's hours from the YAML mapping; ``defaults`` fill what a practice omits."""
    if not isinstance(data, dict) or not isinstance(data.get("practices"), dict):
        raise ValueError(f"{source}: a mapping with 'practices' is expected")
    defaults = data.get("defaults") or {}
    holiday_sets = {name: _days(days, f"{source}: holiday_sets.{name}")
                    for name, days in (data.get("holiday_sets") or {}).items()}
    out = {}
    for pid, spec in data["practices"].items():
        spec = {**defaults, **(spec or {})}
        where = f"{source}: practices.{pid}"
        tz = spec.get("timezone")
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{where}.timezone: an IANA time zone is required (e.g. America/Chicago)") from None
        weekly = _weekly(spec.get("weekly") or {}, f"{where}.weekly")
        before_spec = spec.get("weekly_before_program")
        before = _weekly(before_spec, f"{where}.weekly_before_program") if before_spec is not None else None
        holidays = set(_days(spec.get("holidays"), f"{where}.holidays"))
        for name in spec.get("holiday_sets") or ():
            if name not in holiday_sets:
                raise ValueError(f"{where}.holiday_sets: unknown set")
            holidays |= holiday_sets[name]
        start = spec.get("extended_hours_program_start")
        if start is not None and not isinstance(start, date):
            try:
                start = date.fromisoformat(str(start))
            except ValueError:
                raise ValueError(f"{where}.extended_hours_program_start: a date is YYYY-MM-DD") from None
        out[str(pid)] = PracticeHours(str(pid), str(tz), weekly, frozenset(holidays), start, str(spec.get("name", "")),
                                      before)
    return out
