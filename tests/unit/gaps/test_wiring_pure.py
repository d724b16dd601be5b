"""Pure parts of the gaps wiring: rates and settings. (The load side's pure parts, event ids,
the validated-claim copy, envelope checks and format detection, are intake's:
tests/unit/intake/test_wiring_pure.py.)"""

from datetime import date

import pytest
from pydantic import ValidationError

from services.gaps.app.queries import RateRow
from services.gaps.settings import GapsSettings


def test_rates_follow_the_ecqm_populations_and_the_inverse_measure():
    regular = RateRow("CMS130", "P1", None, {"open": 3, "closed": 5, "due_soon": 2, "excluded": 2, "not_applicable": 9})
    f = regular.figures()
    assert (f["denominator"], f["exclusions"], f["numerator"], f["rate"]) == (12, 2, 7, 0.7)
    inverse = RateRow("CMS122", "P1", None, {"open": 1, "closed": 3}).figures()
    assert (inverse["numerator"], inverse["rate"], inverse["inverse"]) == (1, 0.25, True)  # poor control: lower is better
    assert RateRow("CMS165", None, "K1", {"not_applicable": 4}).figures()["rate"] is None


def test_settings_parse_lists_versions_and_the_period():
    s = GapsSettings(measures="FUP,CMS130", code_list_dirs="a, b", measure_versions={"CMS125": "CMS125v12"},
                     evaluation_date=date(2027, 3, 1))
    assert s.measures == ("CMS130", "FUP") and s.code_list_dirs == ("a", "b")
    assert s.measure_versions["CMS125"] == "CMS125v12" and s.measure_versions["CMS130"] == "CMS130v14"
    ms = s.measure_settings()
    assert (ms.period.start, ms.as_of, ms.measures) == (date(2027, 1, 1), date(2027, 3, 1), ("CMS130", "FUP"))
    assert GapsSettings(measurement_year=2026, evaluation_date=date(2027, 3, 1)).period().end == date(2026, 12, 31)
    with pytest.raises(ValidationError):
        GapsSettings(measures="CMS999")
    with pytest.raises(ValidationError):  # stored in a 64-character column: refused at start, not in a batch
        GapsSettings(measure_versions={"CMS130": "v" * 65})
