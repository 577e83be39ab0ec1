"""Headless Chromium as these machines run it (Debian's package; Playwright drives it, never
downloads a browser): for the browser tests and the report benchmark."""

from __future__ import annotations

import os
import shutil

# no sandbox as root, and no background connections to Google's services, which a closed
# network refuses (and logs as errors)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def find_chromium() -> str | None:
    """ELT_CHROMIUM, or `chromium` on the PATH, when it is executable."""
    found = os.environ.get("ELT_CHROMIUM") or shutil.which("chromium") or ""
    return found if found and os.access(found, os.X_OK) else None
