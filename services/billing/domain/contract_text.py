"""Contract text (YAML) → ``Contract``, with errors a contract analyst can act on.

Pure: takes the text, never opens a file. ``ContractError.problems`` lists one line per
problem, each naming the place in the file (``versions[0].bonuses[2].target``) and what is
wrong. Contract terms are not PHI, but messages still never echo the offending values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from .contract import Contract


class ContractError(ValueError):
    """A contract that cannot be used. ``problems``: one readable line per problem."""

    def __init__(self, problems: list[str], *, source: str = "contract") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-") or str(part) in {"tagged-union", "str", "constrained-str"}:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def problems_of(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors(include_url=False, include_input=False):
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{_where(tuple(e['loc']))}: {msg}")
    return lines


def contract_from_mapping(data: Any, *, source: str = "contract") -> Contract:
    if not isinstance(data, Mapping):
        raise ContractError(["the contract must be a mapping of fields (contract_id, payer, name, versions)"], source=source)
    try:
        return Contract.model_validate(dict(data))
    except ValidationError as err:
        raise ContractError(problems_of(err), source=source) from None


def parse_contract(text: str, *, source: str = "contract") -> Contract:
    """YAML text of one contract → a validated ``Contract``; ``ContractError`` otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "YAML"
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise ContractError([f"{where}: {problem}"], source=source) from None
    except RecursionError:
        raise ContractError(["YAML: nested too deeply"], source=source) from None
    return contract_from_mapping(data, source=source)


def contract_to_yaml(contract: Contract) -> str:
    """The contract as YAML that ``parse_contract`` reads back to an equal contract."""
    return yaml.safe_dump(contract.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True)
