"""The billing service's pure core: contracts, accruals, the ledger diff, month close and
statements. No Kafka, no database, no I/O: every function takes values and returns values."""

from .accruals import (
    ContractBook, CostItem, MemberAccrual, PostingKey, accrue_claim_event, accrue_claims, accrue_member,
    accrue_member_events, claim_family,
)
from .bonuses import BonusEstimate, estimate_bonus
from .claim_versions import PaidLine, current_paid_lines, current_versions, families_of
from .contract import (
    TIERS, BonusRule, BonusTier, CarveOut, CodeRange, Contract, ContractVersion, Goal, PmpmFees,
    QualityGate, SharedSavings,
)
from .contract_text import ContractError, contract_from_mapping, contract_to_yaml, parse_contract
from .coverage import CoverageSpan, MemberMonth, coverage_from_roster, member_month_share, member_months, pmpm_fee_cents
from .facts import FactsBuilder, MeasureRate, MetricValue, PeriodFacts, parse_runs, runs_text
from .figures import PeriodFigures, period_figures
from .ledger import (
    ClosedMonths, ClosedPeriodPosting, DuplicateEntry, Ledger, LedgerTotals, Posting, diff, diff_key,
    from_ledger_event, to_ledger_event,
)
from .money import allocate, format_cents, round_cents, round_half_even, scale, to_cents, to_dollars
from .month_close import bonus_rule_key, close_month, contract_postings, estimates, shared_savings_key
from .periods import next_period, period_of, periods_between, prev_period
from .rates import measure_rates, readmission_rate
from .shared_savings import SavingsEstimate, estimate_shared_savings
from .statements import CSV_HEADER, build_statement, statement_csv, statement_rows, what_if, with_overrides

__all__ = [
    "TIERS", "BonusEstimate", "BonusRule", "BonusTier", "CSV_HEADER", "CarveOut", "ClosedMonths",
    "ClosedPeriodPosting", "CodeRange", "Contract", "ContractBook", "ContractError", "ContractVersion",
    "CostItem", "CoverageSpan", "DuplicateEntry", "FactsBuilder", "Goal", "Ledger", "LedgerTotals",
    "MeasureRate", "MemberAccrual", "MemberMonth", "MetricValue", "PaidLine", "PeriodFacts",
    "PeriodFigures", "PmpmFees", "Posting", "PostingKey", "QualityGate", "SavingsEstimate",
    "SharedSavings", "accrue_claim_event", "accrue_claims", "accrue_member", "accrue_member_events", "allocate", "bonus_rule_key",
    "build_statement", "claim_family", "close_month", "contract_from_mapping", "contract_postings", "contract_to_yaml",
    "coverage_from_roster", "current_paid_lines", "current_versions", "diff", "diff_key",
    "estimate_bonus", "estimate_shared_savings", "estimates", "families_of", "format_cents", "from_ledger_event",
    "measure_rates", "member_month_share", "member_months", "next_period", "parse_contract",
    "parse_runs", "period_figures", "period_of", "periods_between", "pmpm_fee_cents", "prev_period",
    "readmission_rate", "round_cents", "round_half_even", "runs_text", "scale",
    "shared_savings_key", "statement_csv", "statement_rows", "to_cents", "to_dollars",
    "to_ledger_event", "what_if", "with_overrides",
]
