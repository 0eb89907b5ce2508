"""Debian's Chromium for the browser tests, launched the way this machine needs it.

Playwright's own browser download cannot work without the network, so the tests drive
``/usr/bin/chromium`` (installed by ``.ci/bootstrap``). The flags keep Chromium off the
network (the machine refuses outside connections) and give it fake camera and microphone
devices; each launch gets a fresh profile directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "launch_chromium"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
)
FAKE_UI = "--use-fake-ui-for-media-stream"
"""Accept every camera, microphone and screen prompt (without it, headless Chromium
refuses them: NotAllowedError)."""


@contextmanager
def launch_chromium(
    *, extra_flags: tuple[str, ...] = (), allow_devices: bool = True
) -> Iterator[Browser]:
    """Headless Chromium, closed on exit (Playwright gives each launch a fresh profile
    directory of its own, so no state leaks between tests); ``allow_devices=False`` makes
    it refuse camera, microphone and screen requests as a person clicking Block would."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_FLAGS, *((FAKE_UI,) if allow_devices else ()), *extra_flags],
        )
        try:
            yield browser
        finally:
            browser.close()
