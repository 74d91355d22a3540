"""Session fixtures for the real-browser tests: one Chromium, three page origins, one API origin
(and an event loop that serves aiohttp apps on origins of their own).

Without Chromium, chromedriver or selenium the browser tests are skipped with a message saying
how to install them; with CI=true the first of them fails instead, so CI never goes green
without the browser having judged the middleware.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ._cors_browser import (
    CHROMEDRIVER,
    CHROMIUM,
    INSTALL_HINT,
    AiohttpServers,
    APIServer,
    Browser,
    Dispatcher,
    PageServer,
    browser_processes,
    pgrep_chromium,
    start_browser,
)


@dataclass
class BrowserEnv:
    """The running servers and browser, shared by every test of the browser module."""

    browser: Browser
    dispatcher: Dispatcher
    api: str
    port_a: int
    port_b: int
    pages: dict[str, str]
    """Page origins by key: A and B are allowed by the exact-origin configs, C never is."""
    aiohttp: AiohttpServers
    """Serves an aiohttp app (instead of the ASGI `api`) for one case."""
    outcomes: dict[tuple[str, str], Any] = field(default_factory=dict)
    """Outcomes of peer runs, reused when a drop-in's test compares itself with the peer."""
    _nonces: Iterator[int] = field(default_factory=itertools.count)

    def nonce(self) -> str:
        return f"{next(self._nonces)}x{uuid.uuid4().hex[:8]}"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} not found"
    return None


def _is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


@pytest.fixture(scope="module")
def browser_env() -> Iterator[BrowserEnv]:
    missing = _missing()
    if missing is not None:
        message = f"real-browser tests need Chromium: {missing}; {INSTALL_HINT}"
        if _is_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

    dispatcher = Dispatcher()
    api = APIServer(dispatcher)
    pages = [PageServer() for _ in range(3)]
    aiohttp_servers = AiohttpServers()
    profile = tempfile.mkdtemp(prefix="corsfast-chromium-")
    token = uuid.uuid4().hex
    browser: Browser | None = None
    started: list[Any] = []
    try:
        api.start()
        started.append(api)
        for page in pages:
            page.start()
            started.append(page)
        aiohttp_servers.start()
        started.append(aiohttp_servers)
        browser = start_browser(profile, token)
        # The leftover check at the end finds processes by the marker: prove it sees them now.
        assert browser_processes(token), "cannot see this session's Chromium processes"
        api_origin = f"http://127.0.0.1:{api.port}"
        # The credentials cases read this cookie back (127.0.0.1 pages are same-site with the API).
        browser.navigate(api_origin + "/__set_cookie")
        port_a, port_b, port_c = (page.port for page in pages)
        env = BrowserEnv(
            browser=browser,
            dispatcher=dispatcher,
            api=api_origin,
            port_a=port_a,
            port_b=port_b,
            aiohttp=aiohttp_servers,
            pages={
                "A": f"http://127.0.0.1:{port_a}",
                "B": f"http://127.0.0.1:{port_b}",
                "C": f"http://127.0.0.1:{port_c}",
                # Chromium resolves every *.localhost name to loopback itself (no DNS).
                "sub": f"http://a.localhost:{port_a}",
                "sub_other_port": f"http://a.localhost:{port_b}",
                "subsub": f"http://a.b.localhost:{port_a}",
                "bare": f"http://localhost:{port_a}",
                "prefix": f"http://a.localhost.evil.localhost:{port_a}",
            },
        )
        yield env
    finally:
        left: list[int] = []
        if browser is not None:
            left = browser.quit()
        else:
            shutil.rmtree(profile, ignore_errors=True)
        for server in reversed(started):
            server.stop()
        if left:
            pytest.fail(
                f"Chromium processes of this session were still running after quit (killed): {left}\n"
                + "\n".join(pgrep_chromium()),
                pytrace=False,
            )
