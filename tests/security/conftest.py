"""The module-scoped topic namespace and database factory of the API fuzzing, for the access tests."""

from tests.fuzz.conftest import module_databases, module_topics  # noqa: F401 - fixtures
