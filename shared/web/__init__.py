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
fragment), admissions (the hospitalist's alerts page under ``/hospitalist``: its own
``Site`` paths and cookie path, ``kit.css`` served beside its files at ``/hospitalist/static``,
logouts in its ``revoked_sessions``), portal (the members' pages: layout, style, headers and
cookies; its member sessions are its own, in its database, with an idle timeout).

Import from the modules (``shared.web.sessions`` loads no FastAPI: settings classes use it).
"""
