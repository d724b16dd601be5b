"""Headless Chromium for the browser tests (Playwright over Debian's chromium: never downloaded)."""

from __future__ import annotations

import os
import shutil

import pytest

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no Chromium binary: install Debian's chromium (./ccp test does) or set CHROMIUM_PATH; "
                    "this test never downloads a browser")
    return path


def log_in_with_key(page, base: str, start: str, key: str, button: str = "Log in") -> None:
    """Open ``start`` on a staff page, land on its login form, log in with the API key."""
    from playwright.sync_api import expect

    page.goto(f"{base}{start}")
    expect(page.get_by_label("API key")).to_be_visible()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name=button).click()
