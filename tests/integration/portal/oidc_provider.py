"""A small OpenID provider for the tests: a real HTTP server (loopback, its own port) that
signs ID and access tokens (RS256, joserfc — the library Authlib's client uses).

It implements what the portal's client relies on: discovery, JWKS, the authorization
endpoint (it "signs in" the configured user at once and redirects back with a code), and the
token endpoint (client authentication by HTTP Basic or form, code single use, the redirect
URI and the PKCE S256 verifier checked). ``tamper`` switches let a test make it misbehave
(a wrong audience, an expired token, a nonce of another login, a key it does not publish).
``client_settings`` configures a portal for it, ``browser_sign_in`` walks a browser through the
sign-in (the portal's integration tests and the API fuzzing, ``tests/fuzz/member.py``, use both).
Written for these tests; no code from another project.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pydantic import SecretStr

CALLBACK = "http://testserver/signin/oidc/callback"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    def __init__(self, client_id: str = "portal-test", client_secret: str = "s3cret-for-tests-only") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"},
                                       private=True)
        self.rogue_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"}, private=True)
        self.subject_claims: dict = {"sub": "user-1", "member_id": "M1"}
        self.tamper: set[str] = set()
        self.codes: dict[str, dict] = {}
        self.token_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-oidc-provider", daemon=True)

    def __enter__(self) -> "Provider":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ tokens
    def sign(self, claims: dict, *, rogue: bool = False) -> str:
        key = self.rogue_key if rogue else self.key
        return jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, key)

    def access_token(self, member_id: str, *, audience: str | None = None, expires_in: int = 300,
                     rogue: bool = False, issuer: str | None = None) -> str:
        now = int(time.time())
        return self.sign({"iss": issuer or self.issuer, "sub": f"user-{member_id}", "aud": audience or self.client_id,
                          "iat": now, "exp": now + expires_in, "member_id": member_id,
                          "scope": "openid patient/*.read"}, rogue=rogue)

    def _id_token(self, code: dict, access_token: str) -> str:
        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()
        claims = {**self.subject_claims, "iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "auth_time": now, "nonce": code["nonce"], "at_hash": _b64url(digest[:16])}
        if "wrong_audience" in self.tamper:
            claims["aud"] = "another-client"
        if "expired" in self.tamper:
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        if "wrong_nonce" in self.tamper:
            claims["nonce"] = "not-the-one-you-sent"
        return self.sign(claims, rogue="rogue_key" in self.tamper)

    # ------------------------------------------------------------------ HTTP
    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    iss = provider.issuer
                    return self._json(200, {
                        "issuer": iss if "wrong_issuer" not in provider.tamper else iss + "/other",
                        "authorization_endpoint": f"{iss}/authorize", "token_endpoint": f"{iss}/token",
                        "jwks_uri": f"{iss}/jwks", "response_types_supported": ["code"],
                        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]})
                if url.path == "/jwks":
                    return self._json(200, KeySet([provider.key]).as_dict(private=False))
                if url.path == "/authorize":
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    if q.get("client_id") != provider.client_id or q.get("response_type") != "code" \
                            or "openid" not in q.get("scope", "").split() or q.get("code_challenge_method") != "S256":
                        return self._json(400, {"error": "invalid_request"})
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {"redirect_uri": q["redirect_uri"], "nonce": q.get("nonce"),
                                            "challenge": q.get("code_challenge")}
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + urlencode({"code": code,
                                                                                      "state": q.get("state", "")}))
                    self.end_headers()
                    return None
                return self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                if urlsplit(self.path).path != "/token":
                    return self._json(404, {"error": "not_found"})
                provider.token_requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                client_id, secret = form.get("client_id"), form.get("client_secret")
                auth = self.headers.get("Authorization") or ""
                if auth.startswith("Basic "):
                    from urllib.parse import unquote
                    client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                    client_id, secret = unquote(client_id), unquote(secret)
                if client_id != provider.client_id or secret != provider.client_secret:
                    return self._json(401, {"error": "invalid_client"})
                code = provider.codes.pop(form.get("code", ""), None)      # single use
                if form.get("grant_type") != "authorization_code" or code is None \
                        or form.get("redirect_uri") != code["redirect_uri"]:
                    return self._json(400, {"error": "invalid_grant"})
                verifier = form.get("code_verifier") or ""
                if _b64url(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                access = provider.access_token(str(provider.subject_claims.get("member_id", "")))
                return self._json(200, {"access_token": access, "token_type": "Bearer", "expires_in": 300,
                                        "id_token": provider._id_token(code, access), "scope": "openid profile"})

        return Handler


def client_settings(provider: Provider, callback: str = CALLBACK) -> dict:
    """``PortalSettings`` fields that make a portal (at ``http://testserver``) a client of ``provider``."""
    return {"oidc_issuer": provider.issuer, "oidc_client_id": provider.client_id,
            "oidc_client_secret": SecretStr(provider.client_secret), "oidc_redirect_uri": callback}


def browser_sign_in(client, provider: Provider) -> httpx.Response:
    """What a browser does: to the portal, redirected to the provider, redirected back. ``client``
    is the portal's test client (not following redirects); returns the portal's answer to the callback."""
    start = client.get("/signin/oidc")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(provider.issuer + "/authorize?")
    q = parse_qs(urlsplit(location).query)
    assert q["code_challenge_method"] == ["S256"] and q["nonce"][0] and q["state"][0]
    back = httpx.get(location, follow_redirects=False)            # the provider, over real HTTP
    assert back.status_code == 302
    cb = urlsplit(back.headers["location"])
    return client.get(f"{cb.path}?{cb.query}")
