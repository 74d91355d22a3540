"""Which Starlette release `corsfast.starlette` answers as: its table of releases, read per version.

The differential tests (test_starlette_compat.py and the others) prove the answers against the
installed Starlette; here the table itself is checked against that package (in every cell of the
version matrix), and its reading of versions it cannot prove (newer, older, unreadable) is checked
with a warning each.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest
import starlette
import starlette.middleware.cors
from test_starlette_compat import INSTALLED

import corsfast.starlette
from corsfast import CORSConfigWarning
from corsfast._options import starlette_releases
from corsfast._options.starlette_releases import NEWEST, STARLETTE_RELEASES, release_for


def test_the_installed_release_is_read_from_the_installed_package() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a proven release: no warning
        release = release_for(starlette.__version__)
    assert release.private_network == INSTALLED.private_network
    assert release.credentials_attribute == INSTALLED.credentials_attribute
    assert release.all_methods == INSTALLED.all_methods
    assert release.vary_always == INSTALLED.vary_always


def test_attributes_are_the_installed_starlettes() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    theirs = starlette.middleware.cors.CORSMiddleware(app)
    ours = corsfast.starlette.CORSMiddleware(app)
    expected = [name for name in vars(theirs) if name != "app"]
    assert list(release_for(starlette.__version__).attributes) == expected
    assert [name for name in vars(ours) if name in expected] == expected
    for name in ("allow_credentials", "allow_private_network"):
        assert hasattr(ours, name) == hasattr(theirs, name), name


def test_the_signature_is_the_installed_starlettes() -> None:
    def names(function: Any) -> list[str]:
        return list(inspect.signature(function).parameters)

    assert names(corsfast.starlette.CORSMiddleware.__init__) == names(starlette.middleware.cors.CORSMiddleware.__init__)


@pytest.mark.parametrize(
    ("version", "private_network", "credentials_attribute", "query", "vary_always"),
    [
        ("0.37.0", False, False, False, False),
        ("0.37.2", False, False, False, False),
        ("0.50.0", False, False, False, False),
        ("0.51.0", True, False, False, False),
        ("0.52.1", True, False, False, False),
        ("1.0.0", True, True, False, False),
        ("1.0.0rc1", True, True, False, False),
        ("1.6.0", True, True, False, False),
        ("1.7.0", True, True, True, True),
        ("1.10.0", True, True, True, True),
        ("1.10.3", True, True, True, True),
    ],
)
def test_release_switches(
    version: str, private_network: bool, credentials_attribute: bool, query: bool, vary_always: bool
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        release = release_for(version)
    assert release.private_network == private_network
    assert release.credentials_attribute == credentials_attribute
    assert ("QUERY" in release.all_methods) == query
    assert release.vary_always == vary_always
    assert ("allow_private_network" in release.attributes) == private_network
    assert ("allow_credentials" in release.attributes) == credentials_attribute


@pytest.mark.parametrize(
    ("version", "expected", "message"),
    [
        ("1.11.0", NEWEST, "Starlette 1.11.0 is newer: it answers as Starlette 1.10.0"),
        ("2.0.0", NEWEST, "Starlette 2.0.0 is newer"),
        ("0.36.3", STARLETTE_RELEASES[0], "Starlette 0.36.3 is older: it answers as Starlette 0.37.0"),
        ("dev", NEWEST, "cannot read the installed Starlette's version 'dev'"),
    ],
)
def test_unproven_versions_warn_once(version: str, expected: Any, message: str) -> None:
    with pytest.warns(CORSConfigWarning, match=message) as caught:
        assert release_for(version) is expected
    assert len(caught) == 1


def test_a_newer_starlette_warns_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(starlette_releases, "installed_version", lambda: "9.0.0")

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    with pytest.warns(CORSConfigWarning, match="Starlette 9.0.0 is newer") as caught:
        middleware = corsfast.starlette.CORSMiddleware(app, allow_origins=["https://a.example"])
    assert len(caught) == 1
    assert middleware._corsfast_release is NEWEST


def test_without_starlette_the_newest_release_answers() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert release_for(None) is NEWEST
