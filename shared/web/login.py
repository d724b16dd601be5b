"""Log in to a staff page with an API key, and log out.

``GET <login>`` shows the form (``kit/login.html``) with a double-submit token in a short-lived
cookie; ``POST <login>`` checks that token, the key (``shared.users``) and whether this page
admits the user, then sets the signed session cookie (HttpOnly, SameSite=Strict, Secure in
production; the key itself is never stored) and goes on to ``next`` (a local path) or the page's
landing. ``POST <logout>`` needs the session's CSRF token: it ends the session (kept as revoked
until it would have expired, so a copied cookie dies too) and deletes the cookie; a logout
without the token answers 403 and leaves the session as it was (a forged cross-site logout does
nothing). Each refusal is a page a person can act on, with the HTTP status that fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shared.users import User

from .kit import PageKit, safe_next
from .sessions import form_nonce, nonce_ok

LOGIN_FORM_SECONDS = 1800
Field = Annotated[str | None, Form(max_length=2000)]


@dataclass(frozen=True)
class LoginWords:
    intro: str = "Use the API key your administrator gave you."
    expired: str = "Your login form expired. Please try again."
    unknown_key: str = "That key is not valid."
    bye: str = "You are logged out."
    form_expired: str = "Your form expired. Please reload the page and try again."


def install_api_key_login(router: APIRouter, kit: PageKit, *, admit: Callable[[User], str | None], landing: str,
                          after_logout: str = "/login?m=bye", words: LoginWords = LoginWords()) -> None:
    """Add the login and logout routes of ``kit.site`` to ``router`` (an app or a router).

    ``admit(user)`` answers None when this page is for the user, else the refusal shown (403).
    """
    assert kit.signer is not None
    site = kit.site

    def form(request: Request, *, next_path: str | None, message: str | None = None, error: str | None = None,
             status_code: int = 200) -> Response:
        nonce = form_nonce()
        response = kit.render(request, "kit/login.html", {
            "login_token": nonce, "next": next_path, "message": message, "error": error, "words": words},
            status_code=status_code)
        kit.set_cookie(response, kit.login_cookie, nonce, max_age=LOGIN_FORM_SECONDS)
        return response

    @router.get(site.login_path, include_in_schema=False)
    def login_form(request: Request, m: str | None = None, next: str | None = None) -> Response:  # noqa: A002
        return form(request, next_path=safe_next(next, "") or None, message=words.bye if m == "bye" else None)

    @router.post(site.login_path, include_in_schema=False)
    def login(request: Request, api_key: Field = None, login_token: Field = None, next: Field = None  # noqa: A002
              ) -> Response:
        next_path = safe_next(next, "") or None
        if not nonce_ok(request.cookies.get(kit.login_cookie), login_token):
            return form(request, next_path=next_path, error=words.expired, status_code=403)
        user = kit.directory.authenticate((api_key or "").strip()) if kit.directory else None
        if user is None:
            return form(request, next_path=next_path, error=words.unknown_key, status_code=401)
        refusal = admit(user)
        if refusal is not None:
            return form(request, next_path=next_path, error=refusal, status_code=403)
        cookie, _session = kit.signer.issue(user)  # type: ignore[union-attr]
        response = RedirectResponse(next_path or landing, status_code=303)
        kit.set_cookie(response, kit.session_cookie, cookie, max_age=kit.signer.ttl)  # type: ignore[union-attr]
        kit.delete_cookie(response, kit.login_cookie)
        return response

    @router.post(site.logout_path, include_in_schema=False)
    def logout(request: Request, csrf_token: Field = None) -> Response:
        session = kit.session(request)
        if session is not None:
            if not kit.csrf_ok(session, csrf_token):
                return kit.render(request, "kit/error.html", {"code": 403, "error": words.form_expired},
                                  session=session, status_code=403)
            kit.end(session)
        response = RedirectResponse(after_logout, status_code=303)
        kit.delete_cookie(response, kit.session_cookie)
        return response


__all__ = ["LoginWords", "install_api_key_login"]
