"""Flat-file formats shared by ingest (gaps service) and the synthetic population generator.

Roster CSV: one row per member; ``mrns`` is ``AUTHORITY:MRN`` pairs joined by ``;``;
dates are ISO (YYYY-MM-DD); ``eligibility_end`` empty means open-ended.

Claims CSV: one row per service line; header fields repeat on every line of a claim;
``diagnoses`` are ICD-10-CM codes joined by ``;`` (principal first, dots optional);
``modifiers`` joined by ``;``; amounts are decimal strings. Each line needs a
``procedure_code`` (CPT/HCPCS) or a ``revenue_code`` (institutional room-and-board, pharmacy
lines are billed by revenue code only).
"""

from __future__ import annotations

ROSTER_COLUMNS: tuple[str, ...] = (
    "member_id", "given_name", "family_name", "birth_date", "sex", "mrns",
    "pcp_practice_id", "pcp_npi", "hospitalist_group", "pod", "contract_id", "program",
    "risk_tier", "eligibility_start", "eligibility_end",
)
ROSTER_REQUIRED: frozenset[str] = frozenset(
    {"member_id", "given_name", "family_name", "birth_date", "sex", "pcp_practice_id",
     "contract_id", "eligibility_start"}
)

CLAIM_CSV_COLUMNS: tuple[str, ...] = (
    "claim_id", "frequency_code", "original_claim_id", "claim_type", "member_id", "payer_id",
    "billing_npi", "rendering_npi", "place_of_service", "type_of_bill", "admission_date",
    "discharge_date", "discharge_status", "diagnoses", "line_number", "procedure_code",
    "modifiers", "revenue_code", "service_date", "service_date_end", "units", "charge_amount",
    "allowed_amount", "paid_amount",
)
# Optional claim columns (repeated on every line of a claim, like the other claim columns): what
# the claim says about its own version, which orders the versions of one claim
# (``shared.claim_versions``): the sender's version number, the payer's adjudication and
# received dates (ISO). A file may carry any of them, in any position.
CLAIM_CSV_VERSION_COLUMNS: tuple[str, ...] = ("version_sequence", "adjudication_date", "received_date")
CLAIM_CSV_REQUIRED: frozenset[str] = frozenset(
    {"claim_id", "claim_type", "member_id", "line_number", "service_date"}
)

CLAIM_CSV_ONE_OF: tuple[frozenset[str], ...] = (frozenset({"procedure_code", "revenue_code"}),)

LIST_SEPARATOR = ";"
