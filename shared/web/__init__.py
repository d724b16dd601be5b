"""The platform's web kit: the one place for what every server-rendered page needs.

- ``sessions.py``  signed session cookies (``SessionSigner``: user, random id, expiry, HMAC over
                   the user's key hashes, one ``purpose`` per page), CSRF tokens, the login
                   form's double-submit token, ``session_key()`` (``SESSION_SECRET``, refused
                   when missing or short in production).
- ``kit.py``       ``PageKit``: the session behind a request (signed, not revoked), rendering
                   with the caller's CSRF token and ``Cache-Control: no-store``, cookies
                   (HttpOnly, SameSite, Secure in production), the redirect to the login;
                   ``page_templates()`` (the service's templates over the kit's),
                   ``static_files()`` (``/static``: the service's files over ``kit.css``),
                   ``install_page_headers()`` (CSP, nosniff, referrer, no framing).
- ``login.py``     ``install_api_key_login()``: staff log in with their API key and log out
                   (CSRF-checked, the session revoked).
- ``templates/kit/``  ``base.html`` (skip link, top bar with the account and logout form,
                   notices and alerts, blocks ``head``, ``nav``, ``content``, ``footer``,
                   ``scripts``), ``login.html``, ``error.html``, ``risk_view.html`` (the member's
                   risk view as the risk API's fragment and the nurse's task page show it).
- ``static/kit.css``  the common style sheet, served at ``/static/kit.css``.

Pages on it: outreach (the nurse page), risk (the extended-hours ops page and the risk-view
fragment), portal (the members' pages: layout, style, headers and cookies; its member sessions
are its own, in its database, with an idle timeout).

How the hospitalist page (``services/admissions/web``) adopts it, in the admissions move:
``page_session.py`` goes (``PageSettings``/``session_key`` become
``shared.web.session_key(settings.session_secret, production=...)`` with the two fields on
``AdmissionsSettings``; ``Signer`` becomes ``SessionSigner(key, ttl, purpose="hospitalist")``);
``hospitalist_router`` builds ``PageKit(site=Site("Hospitalist alerts", "/hospitalist",
login_path="/hospitalist/login", logout_path="/hospitalist/logout",
static="/hospitalist/static"), cookie_path="/hospitalist", session_cookie="ccp_hsession",
login_cookie="ccp_hlogin", revocations=...)`` and calls ``install_api_key_login(router, kit,
admit=lambda u: None if u.has("hospitalist", "admin") else "This page is for hospitalists.",
landing="/hospitalist", after_logout="/hospitalist/login?m=bye")`` in place of its own login
and logout (which today does not revoke the session: give it a ``RevokedSessions`` over a
``revoked_sessions`` table in its database, as outreach does); its templates extend
``kit/base.html`` (``hospitalist_base.html`` and ``hospitalist_login.html`` go;
``{% block scripts %}`` carries ``alerts.js``); ``hospitalist.css`` keeps only its six rules
(``tr.is-new``, ``tr.is-readmission``, ``.live``, ``ul.plain``) and pages link it after
``kit.css``; its ``/hospitalist/static/{name}`` route serves ``kit.css`` from
``shared/web/static`` too (or the API mounts ``static_files()`` at ``/hospitalist/static``),
and its per-response CSP gives way to ``install_page_headers`` (skip the JSON API's prefixes).
The browser test keeps its assertions; the cookie names and paths stay.

Import from the modules (``shared.web.sessions`` loads no FastAPI: settings classes use it).
"""
