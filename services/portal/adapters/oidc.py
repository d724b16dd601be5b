"""The OpenID Connect client (Authlib): authorization code flow with PKCE (S256), a nonce, and
ID-token validation (signature against the provider's JWKS, issuer, audience, expiry, nonce,
``at_hash``); and validation of the provider's access tokens (JWT) for the FHIR API.

The provider is found by discovery (``<issuer>/.well-known/openid-configuration``); its
``issuer`` must equal the configured one. State, nonce and PKCE verifier of a login in
progress are kept by the caller (the portal's database), not in a cookie.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ..app.ports import IdentityProviderFailure

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]


class OidcFailure(IdentityProviderFailure):
    """The provider's answer could not be used (the text names the step, never a token)."""


class OidcClient:
    def __init__(self, issuer: str, client_id: str, client_secret: str, *, scope: str = "openid profile",
                 timeout: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._oauth = OAuth()
        self._client = self._oauth.register(
            "member_idp", client_id=client_id, client_secret=client_secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": scope, "code_challenge_method": "S256", "timeout": timeout})

    async def _metadata(self) -> dict[str, Any]:
        try:
            meta = await self._client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcFailure(f"provider discovery failed: {exc.__class__.__name__}") from None
        if str(meta.get("issuer", "")).rstrip("/") != self.issuer:
            raise OidcFailure("provider discovery names another issuer")
        return meta

    async def begin(self, redirect_uri: str) -> dict[str, Any]:
        """{url, state, nonce, code_verifier}: send the browser to ``url``; keep the rest."""
        await self._metadata()
        return await self._client.create_authorization_url(redirect_uri)

    async def finish(self, *, redirect_uri: str, code: str, nonce: str, code_verifier: str | None) -> dict[str, Any]:
        """Exchange the code, validate the ID token; returns its claims."""
        meta = await self._metadata()
        try:
            token = await self._client.fetch_access_token(redirect_uri=redirect_uri, code=code,
                                                          code_verifier=code_verifier)
        except (OAuthError, httpx.HTTPError, ValueError) as exc:
            raise OidcFailure(f"token exchange failed: {exc.__class__.__name__}") from None
        if "id_token" not in token:
            raise OidcFailure("the provider returned no ID token")
        try:
            claims = await self._client.parse_id_token(
                token, nonce=nonce, claims_options={"iss": {"essential": True, "values": [meta["issuer"]]}})
        except (JoseError, OAuthError, ValueError, KeyError) as exc:
            raise OidcFailure(f"ID token refused: {exc.__class__.__name__}") from None
        return dict(claims)

    async def verify_access_token(self, token: str, audience: str) -> dict[str, Any]:
        """A bearer token for the FHIR API: a JWT signed by the provider, for ``audience``, unexpired."""
        meta = await self._metadata()
        try:
            keys = KeySet.import_key_set(await self._client.fetch_jwk_set())
            decoded = jwt.decode(token, keys, registry=JWSRegistry(algorithms=ALGORITHMS))
            jwt.JWTClaimsRegistry(leeway=60, iss={"essential": True, "value": meta["issuer"]},
                                  aud={"essential": True, "value": audience},
                                  exp={"essential": True}).validate(decoded.claims)
        except (JoseError, ValueError, KeyError, httpx.HTTPError) as exc:
            raise OidcFailure(f"access token refused: {exc.__class__.__name__}") from None
        return dict(decoded.claims)
