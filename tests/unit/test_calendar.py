from datetime import date

from shared.calendar import BusinessCalendar, us_federal_holidays


def test_federal_holidays_2026_observed_on_weekdays():
    h = us_federal_holidays(2026)
    assert date(2026, 7, 3) in h  # July 4th 2026 is a Saturday -> observed Friday
    assert date(2026, 11, 26) in h  # Thanksgiving
    assert date(2026, 1, 19) in h  # MLK day
    assert all(d.weekday() < 5 for d in h)


def test_two_business_days_skip_weekend_and_holiday():
    cal = BusinessCalendar()
    # Discharged Friday 2026-07-02 (Thu) -> Fri 07-03 is observed holiday, Mon 07-06, Tue 07-07
    assert cal.add_business_days(date(2026, 7, 2), 2) == date(2026, 7, 7)
    # Friday discharge -> Tuesday
    assert cal.add_business_days(date(2026, 3, 6), 2) == date(2026, 3, 10)
    assert cal.add_business_days(date(2026, 3, 6), 0) == date(2026, 3, 6)


def test_holiday_file_adds_and_removes(tmp_path):
    f = tmp_path / "holidays.txt"
    f.write_text("# local\n2026-03-09\n-2026-11-26\n")
    cal = BusinessCalendar.from_file(f)
    assert cal.add_business_days(date(2026, 3, 6), 2) == date(2026, 3, 11)
    assert cal.is_business_day(date(2026, 11, 26))


def test_business_days_between_counts_end_not_start():
    cal = BusinessCalendar(federal=False)
    assert cal.business_days_between(date(2026, 3, 6), date(2026, 3, 10)) == 2
    assert cal.business_days_between(date(2026, 3, 10), date(2026, 3, 6)) == -2
