"""Billing API: ``GET /explain/{contract}/{period}/{figure}`` and ``GET /claims/held``.

Admin and supervisor get the member-level lists (member months, claims counted and excluded,
held corrections), every member named audited; ops gets the arithmetic and the counts only.
"""

# no ``from __future__ import annotations``: FastAPI must see the local ``Annotated`` aliases as
# objects, not strings
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from shared.auth import User

from . import commands, explain as explaining

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


def explain_router(session_dep: Callable, reader: Callable, audit_read: Callable) -> APIRouter:
    """``reader``: the dependency admitting admin, supervisor and ops; ``audit_read(session,
    user, members, endpoint)`` writes the audit rows."""
    router = APIRouter(tags=["statements"])
    SessionDep = Annotated[Session, Depends(session_dep)]
    Reader = Annotated[User, Depends(reader)]

    @router.get("/explain/{contract_id}/{period}/{figure}", summary="Explain a statement figure",
                description="The figure's inputs and arithmetic: the member months (``fees``, ``fees:<tier>``, a "
                            "PMPM bonus), the claims counted and excluded with the reason (``cost_of_care``, "
                            "``carve_outs``, ``carve_out:<category>``: carve-out, outside eligibility, voided, "
                            "replaced, held, duplicate), the measured value against the levels (``bonus:<id>``), "
                            "the year-to-date terms (``shared_savings``), each with the contract clause that "
                            "applied (``versions[1].pmpm_fees.high``) and what the ledger holds. A 422 lists the "
                            "figures the month has. Ops: arithmetic and counts only.")
    def get_explain(contract_id: str, period: str, figure: str,
                    user: Reader, session: SessionDep, member: str | None = Query(None, max_length=64),
                    limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=1_000_000_000)
                    ) -> dict[str, Any]:
        if not re.match(PERIOD, period):
            raise HTTPException(422, "period must be YYYY-MM")
        contract = commands.get_contract(session, contract_id)
        if contract is None:
            raise HTTPException(404, "no such contract is loaded")
        members_allowed = user.has("admin", "supervisor")
        if member is not None and not members_allowed:
            raise HTTPException(403, "a member filter requires role: admin or supervisor")
        try:
            body = explaining.explain(session, contract, period, figure, member=member)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        if not members_allowed:
            return explaining.without_members(body)
        body = explaining.page(body, limit, offset)
        audit_read(session, user, explaining.member_ids(body), f"GET /explain/{contract_id}/{period}/{figure}")
        return body

    @router.get("/claims/held", summary="Claim corrections held for their original", tags=["ledger"],
                description="Replacements and voids whose original claim has not arrived: they count for nothing "
                            "(no cost of care, nothing voided) until it does; a void that never finds its original "
                            "stays here. Counts by kind for everyone; rows (member, claim, what it waits for) for "
                            "admin and supervisor, audited.")
    def get_held(user: Reader, session: SessionDep, member: str | None = Query(None, max_length=64),
                 limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=1_000_000_000)
                 ) -> dict[str, Any]:
        if not user.has("admin", "supervisor"):
            if member is not None:
                raise HTTPException(403, "a member filter requires role: admin or supervisor")
            return {"counts": explaining.held(session, limit=1)["counts"]}
        body = explaining.held(session, member, limit, offset)
        audit_read(session, user, sorted({r["member_id"] for r in body["rows"]}), "GET /claims/held")
        return body

    return router
