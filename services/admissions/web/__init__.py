"""The hospitalist's alerts page, on the platform's web kit (``shared.web``: session cookie,
CSRF, login and logout, ``kit/base.html``, ``kit.css``), as the nurse page is:
``hospitalist_pages.hospitalist_router``, included by the admissions API."""
