"""What every use case is given: the contracts' tier policies, the scorers, today's date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from ..domain.scoring import HccScorer, ScoringConfig
from ..domain.tiers import TierPolicy


@dataclass
class RiskContext:
    policies: dict[str, TierPolicy]
    normalization: dict                     # data/normalization.yaml
    today: Callable[[], date]
    default_model: str = "V28"
    default_payment_year: int = 2026
    source: str = "risk"
    _scorers: dict[tuple[str, int], HccScorer] = field(default_factory=dict)

    def policy(self, contract_id: str) -> TierPolicy:
        """The contract's policy; a contract without a file gets the ``*`` policy (or the defaults)."""
        p = self.policies.get(contract_id)
        if p is not None:
            return p
        if "*" in self.policies:
            return replace(self.policies["*"], contract_id=contract_id)
        return TierPolicy(contract_id, model=self.default_model, payment_year=self.default_payment_year)

    def scorer(self, policy: TierPolicy) -> HccScorer:
        key = (policy.model, policy.payment_year)
        s = self._scorers.get(key)
        if s is None:
            s = self._scorers[key] = HccScorer(ScoringConfig.from_data(self.normalization, policy.model,  # type: ignore[arg-type]
                                                                       policy.payment_year))
        return s
