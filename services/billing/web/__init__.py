"""Billing's HTTP surface on top of ``app/``: the JSON API and the explain/held routes."""
