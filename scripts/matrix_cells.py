"""The peer version matrix: each drop-in against several releases of the package it replaces.

A cell is one peer release: the pins installed on top of the `test` dependency group, the
Pythons it runs on, and whether `.ci/run` runs it (`ci`). Every cell runs its peer's test
selection (`PEERS`) on both engines. `scripts/matrix.py` reads this table; so does the
`matrix` job of .github/workflows/ci.yml (through `scripts/matrix.py --github`), which runs
every cell on every one of its Pythons. A cell whose pins the default virtual environment
(`.venv`, made by `scripts/setup.sh`) already satisfies runs there instead of in a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
"""Every Python the package claims (`requires-python = ">=3.9"`), oldest first."""


@dataclass(frozen=True)
class Peer:
    """A replaced package: its distributions and the tests that prove its drop-in."""

    name: str
    distributions: tuple[str, ...]
    """The distributions whose installed versions a cell's header shows."""
    tests: tuple[str, ...]
    """pytest arguments (files or node ids, relative to the repository) that prove the drop-in
    against the installed peer: the differential tests and the peer's own test suite."""
    drop: tuple[str, ...] = ()
    """Distributions of the `test` group uninstalled in this peer's cells: they require the
    newest peer and no test of `tests` imports them."""


@dataclass(frozen=True)
class Cell:
    """One peer release to run the peer's tests against."""

    peer: str
    version: str
    """The release, as the cell's name shows it (`starlette-0.37.2`, `django-4.2`), followed by
    `+distribution-version` for another distribution of the peer pinned to an older release
    than the other cells' (`aiohttp-3.8+aiohttp-cors-0.7.0`)."""
    pins: tuple[str, ...]
    """Requirements installed on top of the `test` group, overriding its pins."""
    pythons: tuple[str, ...]
    """The Pythons the release installs and runs on."""
    ci: bool = False
    """In the representative set that `.ci/run` runs (`scripts/matrix.py --ci`)."""

    @property
    def name(self) -> str:
        """Return the cell's name: the peer and the release (`starlette-0.48.0`)."""
        return f"{self.peer}-{self.version}"


def since(oldest: str, newest: str = PYTHONS[-1]) -> tuple[str, ...]:
    """Return the claimed Pythons from `oldest` to `newest`, both included."""
    return PYTHONS[PYTHONS.index(oldest) : PYTHONS.index(newest) + 1]


PEERS = {
    peer.name: peer
    for peer in (
        Peer(
            "starlette",
            ("starlette", "anyio"),
            (
                "tests/test_starlette_compat.py",
                "tests/test_starlette_releases.py",
                "tests/test_starlette_suite.py",
                "tests/test_starlette_subclass.py",
                "tests/test_odd_header_lists.py",
                # Each refusal or request-time answer that Starlette gives too is compared
                # with the installed Starlette in the same test.
                "tests/test_security_config.py",
                "tests/test_security_requests.py",
                "tests/test_engine.py::test_preflight_response_starlette_matches_starlette",
                # The drop-in's answers on the compiled engine and the pure twin, for the
                # installed Starlette's switches.
                "tests/test_engine_parity.py::test_parity_starlette",
            ),
            # FastAPI requires a recent Starlette; only the server tests (not run in a cell) use it.
            drop=("fastapi",),
        ),
        Peer(
            "django",
            ("django", "django-cors-headers"),
            (
                "tests/test_django_checks.py",
                "tests/test_django_compat.py",
                "tests/test_django_engine.py",
                "tests/test_django_servers.py",
                "tests/test_bench_django.py",
            ),
        ),
        Peer(
            "flask",
            ("flask", "werkzeug", "flask-cors"),
            (
                "tests/test_flask_compat.py",
                "tests/test_flask.py",
                "tests/test_flask_port_wildcards.py",
                "tests/test_flask_surface.py",
                "tests/test_flask_suite.py",
                "tests/test_flask_bench.py",
            ),
        ),
        Peer(
            "aiohttp",
            ("aiohttp", "aiohttp-cors", "multidict", "yarl"),
            (
                "tests/test_aiohttp_suite.py",
                "tests/test_aiohttp_versions.py",
                "tests/test_aiohttp_compat.py",
                "tests/test_aiohttp_fixes.py",
                "tests/test_aiohttp_native.py",
                "tests/test_aiohttp_bench.py",
            ),
        ),
        Peer(
            "kui",
            ("kui", "baize"),
            ("tests/test_kui_compat.py", "tests/test_odd_header_lists.py"),
        ),
    )
}

CORS_081, CORS_070 = "aiohttp-cors==0.8.1", "aiohttp-cors==0.7.0"
PYTEST_AIOHTTP_1_0 = "pytest-aiohttp<1.1"
"""aiohttp-cors' own suite runs on pytest-aiohttp's fixtures; its 1.1 needs aiohttp 3.11."""

CELLS = (
    # Starlette: releases of each era of CORSMiddleware's behaviour (0.37 to 0.50; 0.51 to
    # 0.52 with private-network preflights; 1.0 to 1.6 with allow_credentials deciding
    # allow-all reflection; 1.7 on with Vary everywhere), the newest being the `test` group's
    # pin on Python 3.11+; `.ci/run` runs one of each era. Before 1.7, Starlette's TestClient
    # (which its own test_cors.py uses) warns with an anyio newer than 4.12.
    Cell("starlette", "0.37.2", ("starlette==0.37.2", "anyio<4.13"), since("3.9"), ci=True),
    Cell("starlette", "0.46.2", ("starlette==0.46.2", "anyio<4.13"), since("3.9")),
    Cell("starlette", "0.48.0", ("starlette==0.48.0", "anyio<4.13"), since("3.9")),
    Cell("starlette", "0.52.1", ("starlette==0.52.1", "anyio<4.13"), since("3.10"), ci=True),
    Cell("starlette", "1.0.1", ("starlette==1.0.1", "anyio<4.13"), since("3.10"), ci=True),
    Cell("starlette", "1.6.0", ("starlette==1.6.0", "anyio<4.13"), since("3.10")),
    Cell("starlette", "1.10.0", ("starlette==1.10.0",), since("3.11")),
    # django-cors-headers 4.9 on each supported Django (the Pythons each Django release supports).
    Cell("django", "4.2", ("django==4.2.*", "django-cors-headers==4.9.0"), since("3.9", "3.12"), ci=True),
    Cell("django", "5.2", ("django==5.2.*", "django-cors-headers==4.9.0"), since("3.10")),
    Cell("django", "6.1", ("django==6.1.*", "django-cors-headers==4.9.0"), since("3.12")),
    # flask-cors 6.0.5 on Flask 2.2 (with the Werkzeug of its time: later ones warn, or break it)
    # and on Flask 3.1.
    Cell("flask", "2.2", ("flask==2.2.*", "werkzeug==2.2.*", "flask-cors==6.0.5"), since("3.9", "3.12"), ci=True),
    Cell("flask", "3.1", ("flask==3.1.*", "flask-cors==6.0.5"), since("3.9")),
    # aiohttp-cors 0.8.1 on the newest patch of each aiohttp minor release it supports (3.9 on),
    # on the Pythons each has wheels for, the newest being the `test` group's on Python 3.10+;
    # aiohttp-cors 0.7.0 on aiohttp 3.8 (the oldest with wheels for Python 3.11), 3.9 and the
    # newest. `.ci/run` runs the oldest of each and aiohttp 3.12.
    Cell("aiohttp", "3.9", ("aiohttp==3.9.*", CORS_081, PYTEST_AIOHTTP_1_0), since("3.9", "3.12"), ci=True),
    Cell("aiohttp", "3.10", ("aiohttp==3.10.*", CORS_081, PYTEST_AIOHTTP_1_0), since("3.9", "3.13")),
    Cell("aiohttp", "3.11", ("aiohttp==3.11.*", CORS_081), since("3.9", "3.13")),
    Cell("aiohttp", "3.12", ("aiohttp==3.12.*", CORS_081), since("3.9", "3.13"), ci=True),
    Cell("aiohttp", "3.13", ("aiohttp==3.13.*", CORS_081), since("3.9")),
    Cell("aiohttp", "3.14", ("aiohttp==3.14.*", CORS_081), since("3.10")),
    Cell(
        "aiohttp",
        "3.8+aiohttp-cors-0.7.0",
        ("aiohttp==3.8.*", CORS_070, PYTEST_AIOHTTP_1_0),
        since("3.9", "3.11"),
        ci=True,
    ),
    Cell("aiohttp", "3.9+aiohttp-cors-0.7.0", ("aiohttp==3.9.*", CORS_070, PYTEST_AIOHTTP_1_0), since("3.9", "3.12")),
    Cell("aiohttp", "3.14+aiohttp-cors-0.7.0", ("aiohttp==3.14.*", CORS_070), since("3.10")),
    # Kui: the one release the drop-in answers as.
    Cell("kui", "1.15.0", ("kui==1.15.0",), since("3.9")),
)
