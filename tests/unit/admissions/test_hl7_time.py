from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.admissions.domain.hl7_time import TimestampError, format_ts, parse_ts

from .builders import TZ


@pytest.mark.parametrize("value,expected", [
    ("2026", datetime(2026, 1, 1, tzinfo=TZ)),
    ("202603", datetime(2026, 3, 1, tzinfo=TZ)),
    ("20260302", datetime(2026, 3, 2, tzinfo=TZ)),
    ("2026030214", datetime(2026, 3, 2, 14, tzinfo=TZ)),
    ("202603021405", datetime(2026, 3, 2, 14, 5, tzinfo=TZ)),
    ("20260302140530", datetime(2026, 3, 2, 14, 5, 30, tzinfo=TZ)),
    ("20260302140530.1234", datetime(2026, 3, 2, 14, 5, 30, 123400, tzinfo=TZ)),
    ("20260302140530-0500", datetime(2026, 3, 2, 14, 5, 30, tzinfo=timezone(timedelta(hours=-5)))),
    ("202603021405+0530", datetime(2026, 3, 2, 14, 5, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    ("20260302140530.5-0000", datetime(2026, 3, 2, 14, 5, 30, 500000, tzinfo=timezone.utc)),
])
def test_precisions_and_offsets(value, expected):
    got = parse_ts(value, TZ)
    assert got == expected and got.utcoffset() == expected.utcoffset()


def test_no_offset_takes_the_feeds_zone_including_dst():
    assert parse_ts("20260115120000", TZ).utcoffset() == timedelta(hours=-5)
    assert parse_ts("20260715120000", TZ).utcoffset() == timedelta(hours=-4)


@pytest.mark.parametrize("value", [
    "20260230", "20261301", "20260302250000", "20260302126000", "2026030214056",
    "20260302140500+2400", "20260302140500+0160", "2026.5", "20260302.5", "abcd", "", "２０２６",
    "20260302140500-05", "20260302 140500", "-0500",
])
def test_impossible_or_malformed_values_are_errors_that_do_not_repeat_the_value(value):
    with pytest.raises(TimestampError) as exc:
        parse_ts(value, TZ)
    assert value not in str(exc.value) or not value


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)))
def test_format_then_parse_round_trips_to_the_second(dt):
    dt = dt.replace(microsecond=0)
    assert parse_ts(format_ts(dt), TZ) == dt
