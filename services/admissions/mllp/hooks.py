"""Observation hooks of the gateway and the listener.

The wiring step implements ``GatewayHooks`` with Prometheus metrics; ``Counters`` is the
in-memory implementation used by default and in tests. Labels are bounded: trigger (one of
the supported triggers or "unknown"), ACK code, table 0357 code, stage. Never a patient value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class GatewayHooks(Protocol):
    def message(self, trigger: str, ack_code: str, seconds: float) -> None:
        """One message answered (or answer withheld per MSH-15): its ACK code and latency."""

    def dead_lettered(self, code: int) -> None:
        """Raw input sent to the dead-letter topic, with its table 0357 code."""

    def duplicate(self) -> None:
        """A (sending facility, MSH-10) seen before: the stored ACK was sent again."""

    def failure(self, stage: str) -> None:
        """publish | dead_letter | dedupe_get | dedupe_put | internal | write | connection_limit."""

    def junk(self, nbytes: int) -> None:
        """Bytes received outside an MLLP frame."""

    def connections(self, delta: int) -> None:
        """+1 when a connection opens, -1 when it closes."""

    def field_warnings(self, warnings: Sequence[tuple[str, str]]) -> None:
        """(field, kind) of each warning an accepted message carried (bounded: ``leniency.FIELDS``)."""


class QuirkSink(Protocol):
    """Per-sender tally for the feed-quirks report: ``outcome`` is accepted | refused | duplicate;
    ``warnings`` (``leniency.Quirk``) of an accepted message, ``issues`` (``Hl7Issue``) of a refused one."""

    def record(self, facility: str, outcome: str, *, warnings: Iterable[Any] = (), issues: Iterable[Any] = ()) -> None:
        ...


class NullQuirks:
    def record(self, facility: str, outcome: str, *, warnings: Iterable[Any] = (), issues: Iterable[Any] = ()) -> None:
        return None


class Counters:
    """In-memory ``GatewayHooks``: counts and the latencies observed."""

    def __init__(self) -> None:
        self.messages: Counter[tuple[str, str]] = Counter()
        self.dead_letters: Counter[int] = Counter()
        self.duplicates = 0
        self.failures: Counter[str] = Counter()
        self.junk_bytes = 0
        self.open_connections = 0
        self.latencies: list[float] = []
        self.warnings: Counter[tuple[str, str]] = Counter()

    def message(self, trigger: str, ack_code: str, seconds: float) -> None:
        self.messages[(trigger, ack_code)] += 1
        if len(self.latencies) < 100_000:
            self.latencies.append(seconds)

    def dead_lettered(self, code: int) -> None:
        self.dead_letters[code] += 1

    def duplicate(self) -> None:
        self.duplicates += 1

    def failure(self, stage: str) -> None:
        self.failures[stage] += 1

    def junk(self, nbytes: int) -> None:
        self.junk_bytes += nbytes

    def connections(self, delta: int) -> None:
        self.open_connections += delta

    def field_warnings(self, warnings: Sequence[tuple[str, str]]) -> None:
        self.warnings.update(warnings)
