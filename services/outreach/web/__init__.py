"""Outreach's HTTP surface on top of ``app``: the JSON API (``json_api``, ``schemas``) and the
nurse page (``pages``, ``supervisor_pages``, ``page_kit``, ``sessions``, templates, static).
``api.py`` wires it into one FastAPI app."""
