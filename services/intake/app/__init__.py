"""Intake's use cases over ports (``ports.py``): ``load_roster`` and ``load_claims`` (the CLI and
the API take the same path), their time budget (``budget.py``) and the API's background loads
(``jobs.py``). No SQL, no Kafka, no HTTP."""

from .claims import load_claims
from .ports import LoadConfig, LoadContext
from .roster import load_roster

__all__ = ["LoadConfig", "LoadContext", "load_claims", "load_roster"]
