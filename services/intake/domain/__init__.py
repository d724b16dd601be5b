"""Intake's pure rules and value types: the file parsers and what a load decides (no Kafka, no
database, no HTTP).

- ``iter_837(path_or_stream, on_progress)`` → ``ParsedClaim`` | ``Rejection`` (lenient tokenizer
  ``x12_tokens``, versions ``x12_versions``, loop states ``x12_loops``, segments ``x12_segments``,
  envelope ``x12_envelope``); ``x12_normalize`` / ``x12_ack``: the copy pyx12 validates and the
  999s it cannot write (the validation itself is ``adapters.x12_validate``)
- ``iter_claims_csv`` / ``iter_claims_json`` → ``ParsedClaim`` | ``Rejection``
- ``iter_roster_csv`` / ``iter_roster_items`` (JSON members) → ``ParsedRoster`` | ``Rejection``;
  ``roster_body_fields(row)`` → ``MemberRosterV1`` body fields or a reason
- ``ids``: deterministic event ids; ``attribution``: the history a roster snapshot carries;
  ``roster``: terming absent members; ``held``: corrections whose original never came;
  ``report``: ``LoadReport`` and ``DeadLetter``; ``files``: format detection, SHA-256
"""

from .claims_csv import iter_claims_csv
from .claims_json import iter_claims_json
from .files import FORMATS, detect_format, file_sha256, read_head
from .ids import body_hash, claim_event_id, roster_body, roster_event_id
from .records import ParsedClaim, ParsedRoster, Position, Progress, Rejection
from .report import DeadLetter, LoadReport, dead_letter, new_load_id, utcnow
from .roster import term_absent_members
from .roster_csv import iter_roster_csv, roster_body_fields
from .roster_items import iter_roster_items
from .x12_837 import iter_837

__all__ = [
    "FORMATS", "DeadLetter", "LoadReport", "ParsedClaim", "ParsedRoster", "Position", "Progress", "Rejection",
    "body_hash", "claim_event_id", "dead_letter", "detect_format", "file_sha256", "iter_837", "iter_claims_csv",
    "iter_claims_json", "iter_roster_csv", "iter_roster_items", "new_load_id", "read_head", "roster_body",
    "roster_body_fields", "roster_event_id", "term_absent_members", "utcnow",
]
