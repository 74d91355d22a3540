"""What each Starlette release's `CORSMiddleware` does differently: the switches the drop-in reads.

Starlette's `middleware/cors.py` changed behaviour four times between 0.37 and 1.10 (every
other change in that range is typing or formatting); `Headers`, `MutableHeaders` and
`PlainTextResponse` gave the same bytes throughout. `corsfast.starlette` reads the installed
release once, at construction, and answers with that release's switches. The compiled tables
and the engine read them as data: no release has a code path of its own.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Optional

from .base import _warn

Version = tuple[int, int, int]

METHODS_BEFORE_QUERY = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
METHODS_WITH_QUERY = (*METHODS_BEFORE_QUERY, "QUERY")
PREFLIGHT_VARY_ORIGIN = "Origin"
PREFLIGHT_VARY_FULL = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)


@dataclass(frozen=True)
class StarletteRelease:
    """How the Starlette releases from `since` on (up to the next entry) answer CORS."""

    since: Version
    all_methods: tuple[str, ...]
    """What `allow_methods=["*"]` expands to (`ALL_METHODS`): QUERY from 1.7."""
    private_network: bool
    """The `allow_private_network` option and attribute exist, and a preflight's
    Access-Control-Request-Private-Network is answered or refused (from 0.51). Before, the
    constructor refuses the keyword and preflights ignore the header."""
    credentials_attribute: bool
    """`self.allow_credentials` exists and decides whether an allow-all simple response
    reflects the Origin (from 1.0). Before, a `Cookie` request header decides it."""
    vary_always: bool
    """From 1.7: every preflight carries the four-name `Vary`, every other response
    `Vary: Origin` (requests without an Origin go through `simple_response` and `send`
    too), and Origin joins every existing Vary value. Before: the preflight's `Vary: Origin`
    only when it reflects the origin, a simple response's only when it reflects, requests
    without an Origin go straight to the app, and `add_vary_header` joins Origin to the
    first Vary value, dropping the others."""

    @property
    def attributes(self) -> tuple[str, ...]:
        """Return the attributes this release's `__init__` sets and reads at request time, in its order (but `app`)."""
        names = ["allow_origins", "allow_methods", "allow_headers", "allow_all_origins", "allow_all_headers"]
        if self.credentials_attribute:
            names.append("allow_credentials")
        names += ["preflight_explicit_allow_origin", "allow_origin_regex"]
        if self.private_network:
            names.append("allow_private_network")
        names += ["simple_headers", "preflight_headers"]
        return tuple(names)

    @property
    def preflight_vary(self) -> str:
        """Return the preflight's `Vary` value (set when `vary_always`, or when the origin is reflected)."""
        return PREFLIGHT_VARY_FULL if self.vary_always else PREFLIGHT_VARY_ORIGIN


STARLETTE_RELEASES = (
    StarletteRelease((0, 37, 0), METHODS_BEFORE_QUERY, False, False, False),
    StarletteRelease((0, 51, 0), METHODS_BEFORE_QUERY, True, False, False),
    StarletteRelease((1, 0, 0), METHODS_BEFORE_QUERY, True, True, False),
    StarletteRelease((1, 7, 0), METHODS_WITH_QUERY, True, True, True),
)
"""The releases whose `CORSMiddleware` answers differently from the one before, oldest first."""
OLDEST_SUPPORTED: Version = (0, 37, 0)
NEWEST_KNOWN: Version = (1, 10, 0)
"""The newest Starlette release the drop-in is proven against; newer ones answer as it does."""
NEWEST = STARLETTE_RELEASES[-1]

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> Optional[Version]:
    """Return `(major, minor, micro)` from a version string such as `0.48.0` or `1.0.0rc1`, or None."""
    found = _VERSION.match(text)
    if found is None:
        return None
    return int(found[1]), int(found[2]), int(found[3] or 0)


def release_for(version: Optional[str]) -> StarletteRelease:
    """Return the switches of Starlette `version` (None: Starlette is not installed, the newest).

    A release newer than the newest known answers as the newest, and one older than the
    oldest supported as the oldest, each with a `CORSConfigWarning` naming the version.
    """
    if version is None:
        return NEWEST
    parsed = parse_version(version)
    if parsed is None:
        _warn(
            f"corsfast.starlette cannot read the installed Starlette's version {version!r}: "
            f"it answers as Starlette {_dotted(NEWEST_KNOWN)}",
            strict=False,
        )
        return NEWEST
    if parsed[:2] > NEWEST_KNOWN[:2]:
        _warn(
            f"corsfast.starlette is proven against Starlette {_dotted(OLDEST_SUPPORTED)} to "
            f"{_dotted(NEWEST_KNOWN)}; the installed Starlette {version} is newer: it answers as "
            f"Starlette {_dotted(NEWEST_KNOWN)}",
            strict=False,
        )
    elif parsed < OLDEST_SUPPORTED:
        _warn(
            f"corsfast.starlette is proven against Starlette {_dotted(OLDEST_SUPPORTED)} to "
            f"{_dotted(NEWEST_KNOWN)}; the installed Starlette {version} is older: it answers as "
            f"Starlette {_dotted(OLDEST_SUPPORTED)}",
            strict=False,
        )
    chosen = STARLETTE_RELEASES[0]
    for release in STARLETTE_RELEASES:
        if parsed >= release.since:
            chosen = release
    return chosen


@functools.lru_cache(maxsize=1)
def installed_version() -> Optional[str]:
    """Return the installed Starlette's `__version__`, or None when Starlette is not installed."""
    try:
        import starlette
    except ImportError:
        return None
    return str(getattr(starlette, "__version__", "")) or None


def installed_release() -> StarletteRelease:
    """Return the switches of the installed Starlette (warning, as `release_for`, once per construction)."""
    return release_for(installed_version())


def _dotted(version: Version) -> str:
    return ".".join(map(str, version))
