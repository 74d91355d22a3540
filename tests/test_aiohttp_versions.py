"""corsfast.aiohttp answers as the installed aiohttp-cors release, compared with it in the same test.

aiohttp-cors 0.7.0 and 0.8.1 differ, for a program, only in `__version__`, `APP_CONFIG_KEY`
(and so in aiohttp's warning about a str key) and one error message; the peer version matrix
(scripts/matrix_cells.py) runs this file with each installed, on aiohttp 3.9 to 3.14.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import pytest

aiohttp = pytest.importorskip("aiohttp")
aiohttp_cors = pytest.importorskip("aiohttp_cors")
from aiohttp import web  # noqa: E402

import corsfast.aiohttp  # noqa: E402
from corsfast import CORSConfigWarning  # noqa: E402
from corsfast.aiohttp import _versions  # noqa: E402

PACKAGES = [pytest.param(aiohttp_cors, id="aiohttp_cors"), pytest.param(corsfast.aiohttp, id="corsfast")]


def key_name(key: Any) -> str:
    """Return an application key's name: a str key itself, an `AppKey`'s name without the module prefix."""
    return key if isinstance(key, str) else str(key._name).rsplit(".", 1)[1]


def test_version_is_the_installed_release() -> None:
    assert corsfast.aiohttp.__version__ == aiohttp_cors.__version__


def test_app_config_key_is_the_installed_release_kind() -> None:
    ours, theirs = corsfast.aiohttp.APP_CONFIG_KEY, aiohttp_cors.APP_CONFIG_KEY
    assert type(ours) is type(theirs)
    assert key_name(ours) == key_name(theirs) == "aiohttp_cors"
    if isinstance(theirs, str):
        assert ours == theirs


@pytest.mark.parametrize("package", PACKAGES)
def test_setup_stores_the_config_under_the_key(package: Any) -> None:
    app = web.Application()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cors = package.setup(app)
    assert app[package.APP_CONFIG_KEY] is cors
    # With 0.7.0 the configuration is found under the plain name too, as code of its time reads it.
    if isinstance(aiohttp_cors.APP_CONFIG_KEY, str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert app["aiohttp_cors"] is cors


def setup_warnings(package: Any) -> list[tuple[type[Warning], str]]:
    """Return the warnings `package.setup(app)` gives: (category, message), in order."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        package.setup(web.Application())
    return [(warning.category, str(warning.message)) for warning in caught]


def test_setup_warns_as_aiohttp_cors() -> None:
    """aiohttp 3.9 and later warn about 0.7.0's str key (NotAppKeyWarning); 0.8.1 gives none."""
    theirs = setup_warnings(aiohttp_cors)
    assert setup_warnings(corsfast.aiohttp) == theirs
    assert bool(theirs) == (isinstance(aiohttp_cors.APP_CONFIG_KEY, str) and hasattr(web, "AppKey"))


class PlainView(web.View):
    async def get(self) -> web.StreamResponse:
        return web.Response(text="view")


def view_error(package: Any) -> str:
    """Return the ValueError's message when a `web.View` without `CorsViewMixin` is added."""
    app = web.Application()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cors = package.setup(app)
    route = app.router.add_route("*", "/view", PlainView)
    with pytest.raises(ValueError) as raised:
        cors.add(route)
    return str(raised.value)


def test_view_without_the_mixin_is_refused_as_aiohttp_cors_refuses_it() -> None:
    theirs = view_error(aiohttp_cors)
    assert view_error(corsfast.aiohttp) == theirs
    assert "aiohttp_cors." in theirs


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        ("0.7.0", "0.7.0"),
        ("0.7.1", "0.7.0"),
        ("0.6.0", "0.7.0"),
        ("0.8.0", "0.8.1"),
        ("0.8.1", "0.8.1"),
        ("0.9.0", "0.8.1"),
        ("1.0.0rc1", "0.8.1"),
        ("unknown", "0.8.1"),
        (None, "0.8.1"),
    ],
)
def test_release_for(installed: Any, expected: str) -> None:
    assert _versions.release_for(installed).version == expected


def test_app_config_key_per_release_and_aiohttp() -> None:
    old, new = (_versions.release_for(version) for version in ("0.7.0", "0.8.1"))
    app_key = getattr(web, "AppKey", None)
    assert _versions.app_config_key(old, app_key) == "aiohttp_cors"
    # An aiohttp before 3.9 has no web.AppKey: the str key, for every release.
    assert _versions.app_config_key(new, None) == "aiohttp_cors"
    if app_key is not None:
        key = _versions.app_config_key(new, app_key)
        assert isinstance(key, app_key) and key_name(key) == "aiohttp_cors"


@pytest.mark.parametrize(
    ("installed", "answered_as"),
    [("0.9.0", "0.8.1"), ("1.0", "0.8.1"), ("0.6.0", "0.7.0"), ("unknown", "0.8.1")],
)
def test_a_release_corsfast_does_not_know_is_answered_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, installed: str, answered_as: str
) -> None:
    # As the Starlette drop-in does: the nearest release it is proven against, and a
    # CORSConfigWarning at setup() naming the installed version.
    note = _versions.unknown_release_note(installed)
    assert note is not None and installed in note and f"answers as {answered_as}" in note
    assert _versions.release_for(installed).version == answered_as
    monkeypatch.setattr(_versions, "INSTALLED_NOTE", note)
    with pytest.warns(CORSConfigWarning, match="is proven against aiohttp-cors 0.7.0 and 0.8.1") as caught:
        corsfast.aiohttp.setup(web.Application())
    assert caught[0].filename == __file__


@pytest.mark.parametrize("installed", [None, "0.7.0", "0.7.1", "0.8.0", "0.8.1", "0.8.2"])
def test_a_release_corsfast_knows_gives_no_warning(installed: Optional[str]) -> None:
    assert _versions.unknown_release_note(installed) is None
