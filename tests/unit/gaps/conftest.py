import pytest

from .builders import CODES


@pytest.fixture(scope="session")
def codes():
    return CODES
