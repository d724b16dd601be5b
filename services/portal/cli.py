"""Command-line steps of the portal: the schema, and the development sign-in code of a member."""

from __future__ import annotations

import sys

from .settings import PortalSettings


def migrate(settings: PortalSettings) -> None:
    from .adapters.database import open_database

    open_database(settings.resolved_database_url(), pool_size=1).dispose()
    print("portal: schema is up to date")


def dev_code(settings: PortalSettings) -> None:
    """``python -m services.portal dev-code M0000042 [...]``: the development sign-in codes."""
    from .domain.signin import dev_signin_code

    if not settings.dev_signin_allowed():
        raise SystemExit("development sign-in codes are off here (production, or DEV_SIGNIN=false)")
    ids = sys.argv[2:]
    if not ids:
        raise SystemExit("usage: python -m services.portal dev-code MEMBER_ID [MEMBER_ID ...]")
    for member_id in ids:
        print(f"{member_id}\t{dev_signin_code(member_id.strip().upper(), settings.dev_key())}")
