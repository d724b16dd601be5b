"""HL7 v2 date/time (TS / DTM): ``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``.

Values without an offset are read in the feed's time zone (``default_tz``); the result is
always timezone-aware. Impossible dates (``20260230``, hour 24, offset minutes 60) are errors.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

_SHAPE = "not an HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])"
_LENGTHS = frozenset({4, 6, 8, 10, 12, 14})
_OFFSETS: dict[str, timezone] = {}


class TimestampError(ValueError):
    """Not an HL7 date/time, or an impossible one. The text never repeats the value."""


def _offset(text: str) -> timezone:
    tz = _OFFSETS.get(text)
    if tz is None:
        hours, minutes = int(text[1:3]), int(text[3:5])
        if minutes > 59 or hours > 23:
            raise TimestampError("time zone offset out of range")
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-delta if text[0] == "-" else delta)
        _OFFSETS[text] = tz
    return tz


PRECISION_BY_LENGTH = {4: "year", 6: "month", 8: "day", 10: "hour", 12: "minute", 14: "second"}


def precision_of(value: str) -> str:
    """How precise a TS/DTM value is: ``year`` … ``second`` (the digits before any fraction or offset)."""
    quick = PRECISION_BY_LENGTH.get(len(value))
    if quick is not None and value.isdigit():
        return quick
    body = value[:-5] if len(value) > 5 and value[-5] in "+-" else value
    return PRECISION_BY_LENGTH.get(len(body.split(".", 1)[0]), "second")


def parse_ts_precise(value: str, default_tz: tzinfo) -> tuple[datetime, str]:
    """(instant, precision): ``2026`` is the start of 2026 *with precision year*, never an exact instant."""
    return parse_ts(value, default_tz), precision_of(value)


def parse_ts(value: str, default_tz: tzinfo) -> datetime:
    """Parse an HL7 TS/DTM value (first component only) into an aware datetime."""
    body, tz = value, default_tz
    if len(value) > 5 and value[-5] in "+-":
        body, off = value[:-5], value[-5:]
        if not (off[1:].isascii() and off[1:].isdigit()):
            raise TimestampError(_SHAPE)
        tz = _offset(off)
    micro = 0
    if "." in body:
        body, frac = body.split(".", 1)
        if len(body) != 14 or not (0 < len(frac) <= 6 and frac.isascii() and frac.isdigit()):
            raise TimestampError("fractional seconds need a full date and time before them" if len(body) != 14 else _SHAPE)
        micro = int(frac.ljust(6, "0"))
    n = len(body)
    if n not in _LENGTHS or not (body.isascii() and body.isdigit()):
        raise TimestampError(_SHAPE)
    try:
        return datetime(
            int(body[0:4]), int(body[4:6]) if n > 4 else 1, int(body[6:8]) if n > 6 else 1,
            int(body[8:10]) if n > 8 else 0, int(body[10:12]) if n > 10 else 0, int(body[12:14]) if n > 12 else 0,
            micro, tz,
        )
    except ValueError:
        raise TimestampError("impossible date or time") from None


_LAST_FORMATTED: list = [None, ""]  # (second, text): ACKs of one second share their MSH-7


def format_ts(dt: datetime) -> str:
    """``YYYYMMDDHHMMSS+ZZZZ`` (naive datetimes are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    second = dt.replace(microsecond=0)
    last = _LAST_FORMATTED
    if last[0] == second and last[0].utcoffset() == second.utcoffset():
        return last[1]
    text = dt.strftime("%Y%m%d%H%M%S%z")
    _LAST_FORMATTED[:] = [second, text]
    return text
