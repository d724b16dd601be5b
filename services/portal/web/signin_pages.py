"""Sign-in and sign-out pages: a development code form, the OpenID Connect redirect and callback.

The code form is protected by a double-submit token (a random value in a short-lived cookie
that the form repeats); the OpenID Connect login is bound to the browser by a cookie holding
its ``state``, and the state, nonce and PKCE verifier wait in the database (single use, ten
minutes).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shared.web.sessions import form_nonce, nonce_ok

from .. import metrics
from ..app.ports import IdentityProviderFailure
from ..app.sessions import Started, remember_login, sign_in_with_claims, sign_in_with_code, sign_out, take_login
from ..domain.errors import SignInRefused
from .context import (
    OIDC_COOKIE, SESSION_COOKIE, SIGNIN_COOKIE, FormField, csrf_ok, endpoint_of, portal_of, render, set_cookie,
    signed_in,
)

log = logging.getLogger(__name__)

MESSAGES = {
    "bye": "You are signed out.",
    "expired": "Your session ended. Please sign in again.",
    "failed": "We could not sign you in with your account. Please try again.",
}


def _signin_page(request: Request, *, error: str | None = None, message: str | None = None,
                 status_code: int = 200) -> Response:
    portal = portal_of(request)
    nonce = form_nonce()
    response = render(request, "signin.html", {
        "signin_token": nonce, "error": error, "message": message,
        "dev": portal.settings.dev_signin_allowed(), "oidc": portal.oidc is not None,
    }, status_code=status_code)
    set_cookie(request, response, SIGNIN_COOKIE, nonce, max_age=1800)
    return response


def _signed_in_response(request: Request, started: Started) -> Response:
    response = RedirectResponse("/", status_code=303)
    max_age = int(portal_of(request).policy.lifetime.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, started.token, max_age=max_age)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    response.delete_cookie(OIDC_COOKIE, path="/")
    return response


def install_signin_pages(app: FastAPI) -> None:
    @app.get("/signin", include_in_schema=False)
    def signin_form(request: Request, m: str | None = None) -> Response:
        return _signin_page(request, message=MESSAGES.get(m or ""))

    @app.post("/signin", include_in_schema=False)
    def signin(request: Request, member_id: FormField = None, code: FormField = None,
               signin_token: FormField = None) -> Response:
        portal = portal_of(request)
        if not portal.settings.dev_signin_allowed():
            metrics.SIGNINS.labels("dev_code", "refused").inc()
            return _signin_page(request, error="Sign-in with a code is not available here. Use your account.",
                                status_code=403)
        if not nonce_ok(request.cookies.get(SIGNIN_COOKIE), signin_token):
            return _signin_page(request, error="The sign-in form expired. Please try again.", status_code=403)
        try:
            started = sign_in_with_code(portal.uow(), member_id=member_id, code=code, now=portal.now(), allowed=True,
                                        key=portal.settings.dev_key(), policy=portal.policy,
                                        endpoint=endpoint_of(request))
        except SignInRefused as exc:
            metrics.SIGNINS.labels("dev_code", "locked" if exc.locked else "failed").inc()
            return _signin_page(request, error=exc.reason, status_code=429 if exc.locked else 401)
        metrics.SIGNINS.labels("dev_code", "ok").inc()
        return _signed_in_response(request, started)

    @app.get("/signin/oidc", include_in_schema=False)
    async def oidc_begin(request: Request) -> Response:
        portal = portal_of(request)
        if portal.oidc is None:
            return _signin_page(request, error="Sign-in with an account is not set up here.", status_code=404)
        try:
            rv = await portal.oidc.begin(portal.settings.oidc_redirect_uri or "")
        except IdentityProviderFailure as exc:
            log.warning("OpenID Connect sign-in could not start: %s", exc)
            metrics.SIGNINS.labels("oidc", "provider_error").inc()
            return _signin_page(request, error="Sign-in with your account is not available right now. "
                                               "Please try again in a few minutes.", status_code=503)
        await run_in_threadpool(remember_login, portal.uow(), rv["state"], rv["nonce"], rv.get("code_verifier"),
                                portal.now())
        response = RedirectResponse(rv["url"], status_code=302)
        set_cookie(request, response, OIDC_COOKIE, rv["state"], max_age=600)
        return response

    @app.get("/signin/oidc/callback", include_in_schema=False)
    async def oidc_callback(request: Request, code: str | None = None, state: str | None = None,
                            error: str | None = None) -> Response:
        portal = portal_of(request)
        if portal.oidc is None:
            return _signin_page(request, error="Sign-in with an account is not set up here.", status_code=404)
        cookie_state = request.cookies.get(OIDC_COOKIE)
        if error or not code or not nonce_ok(cookie_state, state):
            metrics.SIGNINS.labels("oidc", "failed").inc()
            return _signin_page(request, error=MESSAGES["failed"], status_code=400)
        pending = await run_in_threadpool(take_login, portal.uow(), state, portal.now())
        if pending is None:
            metrics.SIGNINS.labels("oidc", "failed").inc()
            return _signin_page(request, error=MESSAGES["failed"], status_code=400)
        try:
            claims = await portal.oidc.finish(redirect_uri=portal.settings.oidc_redirect_uri or "", code=code,
                                              nonce=pending.nonce, code_verifier=pending.code_verifier)
            started = await run_in_threadpool(
                lambda: sign_in_with_claims(portal.uow(), claims=claims, member_claim=portal.settings.oidc_member_claim,
                                            now=portal.now(), policy=portal.policy, endpoint=endpoint_of(request)))
        except IdentityProviderFailure as exc:
            log.warning("OpenID Connect sign-in failed: %s", exc)
            metrics.SIGNINS.labels("oidc", "failed").inc()
            return _signin_page(request, error=MESSAGES["failed"], status_code=401)
        except SignInRefused as exc:
            metrics.SIGNINS.labels("oidc", "not_a_member").inc()
            return _signin_page(request, error=exc.reason, status_code=403)
        metrics.SIGNINS.labels("oidc", "ok").inc()
        return _signed_in_response(request, started)

    @app.post("/signout", include_in_schema=False)
    def signout(request: Request, csrf_token: FormField = None) -> Response:
        portal = portal_of(request)
        signed = signed_in(request)
        if signed is not None:
            if not csrf_ok(signed, csrf_token):
                # a forged cross-site sign-out does nothing (the session and its cookie stay)
                metrics.DENIED.labels("csrf").inc()
                return render(request, "error.html", {"code": 403, "error": "This form has expired. Please reload "
                                                      "the page and try again."}, signed=signed, status_code=403)
            sign_out(portal.uow(), request.cookies.get(SESSION_COOKIE), portal.now(), endpoint_of(request))
        response = RedirectResponse("/signin?m=bye", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
