"""FastAPI dependencies authenticating API users (``authenticator``, ``require_roles``).

The users themselves (roles, pods, capacity, key hashes, the users file and its refusal of
development keys outside development) are in ``shared.users``, re-exported here.
"""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request, status

from .users import *  # noqa: F401,F403 - the users' names, as before
from .users import User, UserDirectory


def _token_from(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def authenticator(directory: UserDirectory):
    """A FastAPI dependency returning the authenticated user (401 otherwise)."""

    def current_user(request: Request) -> User:
        user = directory.authenticate(_token_from(request))
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required",
                                headers={"WWW-Authenticate": "Bearer"})
        return user

    return current_user


def require_roles(current_user_dep, *roles: str):
    """A dependency that also checks the user holds one of ``roles`` (403 otherwise)."""

    def check(user: User = Depends(current_user_dep)) -> User:  # noqa: B008 - FastAPI's dependency idiom
        if not user.has(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(roles)}")
        return user

    # Resolved eagerly: this module uses postponed annotations, which FastAPI cannot resolve
    # for a function defined in a local scope.
    check.__annotations__ = {"user": User, "return": User}
    return check
