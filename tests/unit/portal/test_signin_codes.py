"""Development sign-in codes: derived, stable, forgiving to type, useless without the member id."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from services.portal.domain.signin import code_matches, dev_signin_code, normalise_code


def test_a_code_is_eight_readable_characters_and_stable():
    code = dev_signin_code("M0000001")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)
    assert dev_signin_code("M0000001") == code
    assert code != dev_signin_code("M0000002")
    assert "M0000001" not in code and code != dev_signin_code("M0000001", key=b"another key")


def test_typing_is_forgiving():
    code = dev_signin_code("M0000001")
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert code_matches("M0000001", typed)
    assert normalise_code(" ab cd-ef gh ") == "ABCD-EFGH"


@given(st.text(max_size=12))
def test_nothing_typed_matches_another_members_code_by_accident(typed):
    assert not code_matches("M0000001", typed) or normalise_code(typed) == dev_signin_code("M0000001")
