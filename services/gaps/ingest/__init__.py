"""File parsers of the gaps service (no Kafka, no database): X12 837, claims CSV, roster CSV.

- ``iter_837(path_or_stream, on_progress)`` → ``ParsedClaim`` | ``Rejection`` (lenient tokenizer
  ``x12_tokens``, versions ``x12_versions``, loops ``x12_loops``, envelope ``x12_envelope``)
- ``validate_837(path_or_stream, ack_out, deadline=)`` → ``ValidationReport`` (pyx12 map walk on a
  normalized copy ``x12_normalize``, 999; the 999s pyx12 cannot write come from ``x12_ack``)
- ``iter_claims_csv(path_or_stream, on_progress)`` → ``ParsedClaim`` | ``Rejection``
- ``iter_claims_json(path_or_stream, on_progress)`` → ``ParsedClaim`` | ``Rejection`` (JSON lines
  or a JSON array of claims or claim lines)
- ``iter_roster_csv(path_or_stream, on_progress)`` → ``ParsedRoster`` | ``Rejection``
- ``roster_body_fields(row)`` → ``MemberRosterV1`` body fields or a reason
"""

from .claims_csv import iter_claims_csv
from .claims_json import iter_claims_json
from .records import ParsedClaim, ParsedRoster, Position, Progress, Rejection
from .roster_csv import iter_roster_csv, roster_body_fields
from .x12_837 import iter_837
from .x12_validate import TransactionReport, ValidationReport, validate_837

__all__ = [
    "ParsedClaim", "ParsedRoster", "Position", "Progress", "Rejection", "TransactionReport",
    "ValidationReport", "iter_837", "iter_claims_csv", "iter_claims_json", "iter_roster_csv", "roster_body_fields",
    "validate_837",
]
