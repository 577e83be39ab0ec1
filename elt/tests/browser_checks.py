"""Chromium for the tests that open pages: found or skipped (failed where CI requires it), and
the problems a page logs."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

import pytest

from elt.browser import find_chromium

DBT_DOCS_PLACEHOLDERS = ("{{ getIcon(", "${require('./assets/favicons/favicon.ico')}")


def chromium_path() -> str:
    found = find_chromium()
    if found is None:
        reason = (
            "headless Chromium not found (install Debian's `chromium` package, or set "
            "ELT_CHROMIUM to the browser's path)"
        )
        if os.environ.get("ELT_REQUIRE_BROWSER", "") in ("1", "true", "yes"):
            pytest.fail(f"{reason}; ELT_REQUIRE_BROWSER=1 makes the browser tests mandatory")
        pytest.skip(reason)
    return found


class PageProblems:
    """Console errors, uncaught exceptions and failed requests of one page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.placeholder_requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("requestfailed", lambda r: self._failed(r.url, r.failure))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self._failed(response.url, str(response.status))

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def _failed(self, url: str, why: object) -> None:
        # dbt-docs' own index.html holds two unrendered templates: <img src="{{ getIcon(...) }}">,
        # fetched before Angular binds it, and a favicon link left as a webpack `${require(...)}`.
        # Those 404s come from dbt, not from this project, and are the only failures tolerated.
        if any(p in unquote(url) for p in DBT_DOCS_PLACEHOLDERS):
            self.placeholder_requests.append(url)
        else:
            self.errors.append(f"request {url}: {why}")

    def real_errors(self) -> list[str]:
        """Errors left once the browser's console lines for the placeholder 404s are removed."""
        resource_404 = "Failed to load resource: the server responded with a status of 404"
        tolerated = len(self.placeholder_requests)
        left = []
        for e in self.errors:
            if tolerated and resource_404 in e:
                tolerated -= 1
                continue
            left.append(e)
        return left
