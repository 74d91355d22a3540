"""What each aiohttp-cors release does differently: the switches `corsfast.aiohttp` reads.

aiohttp-cors 0.7.0 (2018) and 0.8.1 (2025) answer every request alike; their code differs,
beyond formatting and typing, in three things a program can see: `__version__`,
`APP_CONFIG_KEY` (0.7.0: the str "aiohttp_cors", which aiohttp 3.9 and later warn about when
`setup` stores the configuration under it; 0.8.1: a typed `web.AppKey` of that name) and the
ValueError for a `web.View` not derived from `CorsViewMixin`, whose message named a class that
never existed in 0.7.0. `corsfast.aiohttp` reads the installed aiohttp-cors' version from its
distribution's metadata (without importing it) when it is imported, and answers as that
release; without aiohttp-cors, as the newest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Optional

Version = tuple[int, int]


@dataclass(frozen=True)
class AiohttpCorsRelease:
    """How the aiohttp-cors releases from `since` on (up to the next entry) differ."""

    since: Version
    version: str
    """The release whose answers these are: `corsfast.aiohttp.__version__`."""
    typed_app_key: bool
    """`APP_CONFIG_KEY` is a `web.AppKey` (from 0.8; on an aiohttp without `web.AppKey`,
    before 3.9, the str it is named by), else the str "aiohttp_cors"."""
    view_mixin_name: str
    """The class the ValueError for a `web.View` not derived from `CorsViewMixin` names."""

    @property
    def view_mixin_message(self) -> str:
        """Return the message of the ValueError `cors.add()` raises for a view not derived from `CorsViewMixin`."""
        return f"web view should be derived from {self.view_mixin_name} for working with the library"


APP_KEY_NAME = "aiohttp_cors"
"""The name of the key the configuration is stored under in the application, in every release."""

RELEASES = (
    AiohttpCorsRelease((0, 7), "0.7.0", typed_app_key=False, view_mixin_name="aiohttp_cors.WebViewMixig"),
    AiohttpCorsRelease((0, 8), "0.8.1", typed_app_key=True, view_mixin_name="aiohttp_cors.CorsViewMixin"),
)
"""The releases whose visible behaviour differs from the one before, oldest first; a release
older than the first answers as the first, a newer one as the last."""
NEWEST = RELEASES[-1]

_VERSION = re.compile(r"(\d+)\.(\d+)")


def _parsed(installed: Optional[str]) -> Optional[Version]:
    """Return (major, minor) of a version string, None when there is none to read."""
    found = _VERSION.match(installed or "")
    return None if found is None else (int(found[1]), int(found[2]))


def release_for(installed: Optional[str]) -> AiohttpCorsRelease:
    """Return the switches of aiohttp-cors `installed` (None, or a version that cannot be read: the newest)."""
    parsed = _parsed(installed)
    if parsed is None:
        return NEWEST
    chosen = RELEASES[0]
    for release in RELEASES:
        if parsed >= release.since:
            chosen = release
    return chosen


def installed_version() -> Optional[str]:
    """Return the installed aiohttp-cors' version (from its metadata), or None when it is not installed."""
    try:
        return version("aiohttp-cors")
    except PackageNotFoundError:
        return None


def app_config_key(release: AiohttpCorsRelease, app_key_class: Any) -> Any:
    """Return the key `setup` stores the configuration under for `release`: a
    `app_key_class(name, CorsConfig)` when the release types it and aiohttp has the class
    (`web.AppKey`, None before aiohttp 3.9), else the str name."""
    from .cors_config import CorsConfig

    if release.typed_app_key and app_key_class is not None:
        return app_key_class(APP_KEY_NAME, CorsConfig)
    return APP_KEY_NAME


def unknown_release_note(installed: Optional[str]) -> Optional[str]:
    """Return what `setup` warns about when the installed aiohttp-cors `installed` is not a
    release corsfast.aiohttp is proven against (0.7.x, 0.8.x), or whose version cannot be
    read; None when it is one, or when aiohttp-cors is not installed."""
    if installed is None:
        return None
    parsed = _parsed(installed)
    proven = f"corsfast.aiohttp is proven against aiohttp-cors {RELEASES[0].version} and {NEWEST.version}"
    if parsed is None:
        unread = f"the installed aiohttp-cors' version {installed!r} cannot be read"
        return f"{proven}; {unread}: it answers as {NEWEST.version}"
    if parsed > NEWEST.since:
        return f"{proven}; the installed aiohttp-cors {installed} is newer: it answers as {NEWEST.version}"
    if parsed < RELEASES[0].since:
        return f"{proven}; the installed aiohttp-cors {installed} is older: it answers as {RELEASES[0].version}"
    return None


_INSTALLED_VERSION = installed_version()
INSTALLED = release_for(_INSTALLED_VERSION)
"""The release `corsfast.aiohttp` answers as: the installed aiohttp-cors', read once at import."""
INSTALLED_NOTE = unknown_release_note(_INSTALLED_VERSION)
"""Why the installed aiohttp-cors is answered as the nearest release corsfast knows, if it is:
`setup` (every `CorsConfig`) warns with it."""
