"""Contract files: the shipped examples and a loader (the only file reading in billing's core).

``MMO-2026`` (care-coordination PMPM by risk tier with four kinds of bonuses) and ``GR-2026``
(global risk: shared savings with cardiac carve-outs) are modelled on the two source
documents in the design notes.
"""

from __future__ import annotations

from pathlib import Path

from services.billing.domain.contract import Contract
from services.billing.domain.contract_text import parse_contract

CONTRACTS_DIR = Path(__file__).parent


def load_contract_file(path: str | Path) -> Contract:
    """Read and validate one contract file; ``ContractError`` names each problem."""
    p = Path(path)
    return parse_contract(p.read_text(encoding="utf-8"), source=p.name)


def example_contracts() -> dict[str, Contract]:
    """The shipped examples by contract id."""
    found = (load_contract_file(p) for p in sorted(CONTRACTS_DIR.glob("*.yaml")))
    return {c.contract_id: c for c in found}
