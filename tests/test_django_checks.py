"""`corsfast.django`'s modules against django-cors-headers 4.9's: checks, conf, defaults, surface.

The system check gives django-cors-headers' messages (same classes, levels, IDs, texts,
hints, order) for any settings, so `manage.py check` reports what django-cors-headers
reports, proven in a separate interpreter per app; corsfast's own warnings
(`corsfast.W0xx`) are deployment checks (`manage.py check --deploy`), which
`SILENCED_SYSTEM_CHECKS` silences like any Django check. `conf` reads the same values,
legacy names included.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import corsheaders.checks
import corsheaders.conf
import corsheaders.defaults
import corsheaders.middleware
import django_site  # noqa: F401 - configures Django
import pytest
from django.core import checks
from django.core.management import base, call_command
from django.test.utils import override_settings
from hypothesis import given, settings, strategies as st

import corsfast.django.checks
import corsfast.django.conf
import corsfast.django.defaults
import corsfast.django.middleware
import corsfast.django.signals
from corsfast.django.apps import CorsHeadersAppConfig


def messages(module: Any) -> list[tuple[str, int, str, Any, Any, Any]]:
    """Return what `module.check_settings()` reports: class, level, ID, text, hint, object."""
    return [(type(m).__name__, m.level, m.id, m.msg, m.hint, m.obj) for m in module.check_settings()]


def deploy_ids() -> list[str]:
    return [m.id for m in corsfast.django.checks.check_deploy_settings()]


# -- the check: django-cors-headers' own messages, for any settings -------------------------

ODD_VALUES = st.sampled_from(
    [
        object,
        [object],
        True,
        0,
        1,
        -1,
        "10",
        "",
        "abc",
        (),
        ["a", "b"],
        ("x",),
        [re.compile("a")],
        re.compile("a"),
        [b"https://a.example"],
        {"a"},
        None,
        ["https://a.example", "null", "file://"],
        ["example.com"],
        ["https://"],
        ["https://a.example/path", "https://b.example?q", "https://c.example#f", "https://d.example/"],
        [re.compile(rb"bytes")],
    ]
)
SETTING_NAMES = (
    "CORS_ALLOW_HEADERS",
    "CORS_ALLOW_METHODS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_ALLOW_PRIVATE_NETWORK",
    "CORS_PREFLIGHT_MAX_AGE",
    "CORS_ALLOW_ALL_ORIGINS",
    "CORS_ORIGIN_ALLOW_ALL",
    "CORS_ALLOWED_ORIGINS",
    "CORS_ORIGIN_WHITELIST",
    "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_ORIGIN_REGEX_WHITELIST",
    "CORS_EXPOSE_HEADERS",
    "CORS_URLS_REGEX",
    "CORS_MODEL",
    "CORS_REPLACE_HTTPS_REFERER",
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SETTING_NAMES), ODD_VALUES, max_size=6))
def test_same_messages_as_django_cors_headers(chosen: dict[str, Any]) -> None:
    with override_settings(**chosen):
        assert messages(corsfast.django.checks) == messages(corsheaders.checks)
        deploy = corsfast.django.checks.check_deploy_settings()
    assert all(type(m) is checks.Warning and m.id.startswith("corsfast.W") for m in deploy)


# django-cors-headers' tests/test_checks.py, on both packages.
CHECK_CASES = [
    ({}, []),
    ({"CORS_ALLOW_HEADERS": object}, ["corsheaders.E001"]),
    ({"CORS_ALLOW_HEADERS": [object]}, ["corsheaders.E001"]),
    ({"CORS_ALLOW_METHODS": object}, ["corsheaders.E002"]),
    ({"CORS_ALLOW_METHODS": [object]}, ["corsheaders.E002"]),
    ({"CORS_ALLOW_CREDENTIALS": object}, ["corsheaders.E003"]),
    ({"CORS_ALLOW_PRIVATE_NETWORK": object}, ["corsheaders.E015"]),
    ({"CORS_PREFLIGHT_MAX_AGE": "10"}, ["corsheaders.E004"]),
    ({"CORS_PREFLIGHT_MAX_AGE": -1}, ["corsheaders.E004"]),
    ({"CORS_ALLOW_ALL_ORIGINS": object}, ["corsheaders.E005"]),
    ({"CORS_ORIGIN_ALLOW_ALL": object}, ["corsheaders.E005"]),
    ({"CORS_ALLOWED_ORIGINS": object}, ["corsheaders.E006"]),
    ({"CORS_ALLOWED_ORIGINS": [object]}, ["corsheaders.E006"]),
    ({"CORS_ORIGIN_WHITELIST": object}, ["corsheaders.E006"]),
    ({"CORS_ALLOWED_ORIGINS": ["http://example.com", "file://", "null"]}, []),
    ({"CORS_ALLOWED_ORIGINS": ["example.com"]}, ["corsheaders.E013"]),
    ({"CORS_ORIGIN_WHITELIST": ["example.com"]}, ["corsheaders.E013"]),
    ({"CORS_ALLOWED_ORIGINS": ["https://"]}, ["corsheaders.E013"]),
    ({"CORS_ALLOWED_ORIGINS": ["https://example.com/foobar"]}, ["corsheaders.E014"]),
    ({"CORS_ORIGIN_WHITELIST": ["https://example.com/foobar"]}, ["corsheaders.E014"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": object}, ["corsheaders.E007"]),
    ({"CORS_ORIGIN_REGEX_WHITELIST": object}, ["corsheaders.E007"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [re.compile(r"a")]}, []),
    ({"CORS_EXPOSE_HEADERS": object}, ["corsheaders.E008"]),
    ({"CORS_EXPOSE_HEADERS": [object]}, ["corsheaders.E008"]),
    ({"CORS_URLS_REGEX": object}, ["corsheaders.E009"]),
    ({"CORS_MODEL": "something"}, ["corsheaders.E012"]),
    ({"CORS_REPLACE_HTTPS_REFERER": object}, ["corsheaders.E013"]),  # 4.9 reuses E013 here
]


@pytest.mark.parametrize("module", [corsheaders.checks, corsfast.django.checks], ids=["corsheaders", "corsfast"])
@pytest.mark.parametrize(("chosen", "expected"), CHECK_CASES)
def test_django_cors_headers_check_cases(module: Any, chosen: dict[str, Any], expected: list[str]) -> None:
    with override_settings(**chosen):
        found = module.check_settings()
    assert [m.id for m in found] == expected
    assert all(isinstance(m, checks.Error) for m in found)
    if "CORS_ORIGIN_WHITELIST" in chosen and expected:
        assert "CORS_ORIGIN_WHITELIST" in found[0].msg
    if "CORS_ORIGIN_ALLOW_ALL" in chosen:
        assert found[0].msg.startswith("CORS_ORIGIN_ALLOW_ALL should be")


def test_unparsable_origin_is_a_warning_not_a_crash() -> None:
    with override_settings(CORS_ALLOWED_ORIGINS=["https://[::1"]):
        with pytest.raises(ValueError, match="Invalid IPv6 URL"):
            corsheaders.checks.check_settings()  # django-cors-headers' check crashes
        (found,) = corsfast.django.checks.check_settings()
        assert deploy_ids() == []
    assert type(found) is checks.Warning and found.id == "corsfast.W011"
    assert found.msg.startswith("Origin 'https://[::1' in CORS_ALLOWED_ORIGINS cannot be parsed (")


# -- registration: the app config, the security tag, SILENCED_SYSTEM_CHECKS ----------------


@pytest.fixture
def installed() -> Iterator[None]:
    with override_settings(INSTALLED_APPS=["corsfast.django"]):
        yield


@pytest.mark.usefixtures("installed")
def test_app_config_registers_the_checks_under_the_security_tag() -> None:
    from django.apps import apps

    config = apps.get_app_config("corsfast_django")
    assert type(config) is CorsHeadersAppConfig and config.name == "corsfast.django"
    registry = checks.registry.registry
    assert corsfast.django.checks.check_settings in registry.get_checks()
    assert corsfast.django.checks.check_deploy_settings not in registry.get_checks()
    assert corsfast.django.checks.check_deploy_settings in registry.get_checks(include_deployment_checks=True)
    for check in (corsfast.django.checks.check_settings, corsfast.django.checks.check_deploy_settings):
        assert check.tags == (checks.Tags.security,)  # type: ignore[attr-defined]
    call_command("check")  # the defaults pass
    with override_settings(CORS_ALLOW_ALL_ORIGINS=object), pytest.raises(base.SystemCheckError):
        call_command("check")  # the checks are bound


@pytest.mark.usefixtures("installed")
def test_warnings_are_deployment_checks_silenced_like_any_check() -> None:
    def reported(**options: Any) -> str:
        output = io.StringIO()
        call_command("check", tags=[checks.Tags.security], stdout=io.StringIO(), stderr=output, **options)
        return output.getvalue()

    dangerous = {"CORS_ALLOW_ALL_ORIGINS": True, "CORS_ALLOW_CREDENTIALS": True, "CORS_ALLOWED_ORIGINS": ["null"]}
    with override_settings(**dangerous):
        assert "corsfast." not in reported()  # `manage.py check`: what django-cors-headers reports
        call_command("check", fail_level="WARNING", stdout=io.StringIO(), stderr=io.StringIO())
        output = reported(deploy=True)  # warnings: printed, the command does not fail
        assert "(corsfast.W001)" in output and "(corsfast.W002)" in output
        with override_settings(SILENCED_SYSTEM_CHECKS=["corsfast.W001"]):
            output = reported(deploy=True)
        assert "(corsfast.W001)" not in output and "(corsfast.W002)" in output
        with pytest.raises(base.SystemCheckError, match=r"corsfast\.W002"):
            call_command("check", deploy=True, fail_level="WARNING", stdout=io.StringIO(), stderr=io.StringIO())


# -- corsfast's warnings -------------------------------------------------------------------

WARNING_CASES = [
    ({"CORS_ALLOW_ALL_ORIGINS": True, "CORS_ALLOW_CREDENTIALS": True}, ["corsfast.W001"]),
    ({"CORS_ORIGIN_ALLOW_ALL": True, "CORS_ALLOW_CREDENTIALS": True}, ["corsfast.W001"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [r".*"], "CORS_ALLOW_CREDENTIALS": True}, ["corsfast.W001"]),
    ({"CORS_ALLOW_ALL_ORIGINS": True}, []),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [r".*"]}, []),
    ({"CORS_ALLOWED_ORIGINS": ["null"]}, ["corsfast.W002"]),
    ({"CORS_ALLOWED_ORIGINS": ["https://Example.com"]}, ["corsfast.W003"]),
    ({"CORS_ALLOWED_ORIGINS": ["https://example.com:443"]}, ["corsfast.W003"]),
    ({"CORS_ALLOWED_ORIGINS": ["https://bücher.example"]}, ["corsfast.W003"]),
    ({"CORS_ALLOWED_ORIGINS": ["https://user@example.com"]}, ["corsfast.W003"]),
    ({"CORS_ALLOWED_ORIGINS": ["HTTPS://example.com", "file://", "https://example.com:8443"]}, []),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://api.example\.com$"]}, ["corsfast.W004"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://([a-z0-9]+-?)+\.example\.com$"]}, ["corsfast.W005"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://.*example\.com$"]}, ["corsfast.W006"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://\w+\.example\.com"]}, ["corsfast.W007"]),
    ({"CORS_ORIGIN_REGEX_WHITELIST": [re.compile(r"https://\w+\.example\.com")]}, ["corsfast.W007"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://\w+\.example\.com$", r"^https://a\.example\.org\Z"]}, []),
    ({"CORS_ALLOW_HEADERS": "x-token"}, ["corsfast.W008"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": r"^https://a\.example$"}, ["corsfast.W008"]),
    ({"CORS_ALLOW_HEADERS": ["x token"], "CORS_EXPOSE_HEADERS": ["x\nb"]}, ["corsfast.W009", "corsfast.W009"]),
    ({"CORS_ALLOW_METHODS": ["GET", "", "*"]}, ["corsfast.W009"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": ["("]}, ["corsfast.W010"]),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": [re.compile(rb"x")]}, ["corsfast.W010"]),
    ({"CORS_URLS_REGEX": "(?P<"}, ["corsfast.W010"]),
]


@pytest.mark.parametrize(("chosen", "expected"), WARNING_CASES)
def test_warnings(chosen: dict[str, Any], expected: list[str]) -> None:
    with override_settings(**chosen):
        found = corsfast.django.checks.check_deploy_settings()
        assert messages(corsfast.django.checks) == messages(corsheaders.checks)
    assert [m.id for m in found] == expected
    assert all(isinstance(m, checks.Warning) and m.msg.endswith(".") for m in found)


def test_warning_messages_name_the_setting_and_the_value() -> None:
    with override_settings(CORS_ALLOWED_ORIGINS=["https://example.com:443"]):
        (found,) = [m for m in corsfast.django.checks.check_deploy_settings() if m.id == "corsfast.W003"]
    assert "'https://example.com:443' in CORS_ALLOWED_ORIGINS" in found.msg and "'https://example.com'" in found.msg
    with override_settings(CORS_ORIGIN_REGEX_WHITELIST=[r"^https://\w+\.example\.com"]):
        (found,) = corsfast.django.checks.check_deploy_settings()
    assert found.msg.startswith("CORS_ORIGIN_REGEX_WHITELIST: pattern")
    assert "'https://a.example.com.corsfast-canary.invalid'" in found.msg


# -- manage.py check, with one app or the other, in its own interpreter ---------------------

CHECK_RUN = """
import io
import json
import pickle
import sys

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="corsfast-check-run-" + "k" * 50,
    INSTALLED_APPS=[sys.argv[1]],
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[],
    DEBUG=False,
)
django.setup()

from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test.utils import override_settings

with open(sys.argv[2], "rb") as file:
    cases = pickle.load(file)
results = []
for chosen in cases:
    runs = {}
    with override_settings(**chosen):
        for name, options in (("check", {}), ("fail-level", {"fail_level": "WARNING"}), ("deploy", {"deploy": True})):
            out, err = io.StringIO(), io.StringIO()
            try:
                call_command("check", stdout=out, stderr=err, **options)
                failed = ""
            except SystemCheckError as error:
                failed = str(error)
            runs[name] = [out.getvalue(), err.getvalue(), failed]
        for name, deploy in (("messages", False), ("deploy messages", True)):
            found = run_checks(include_deployment_checks=deploy)
            runs[name] = [[type(m).__name__, m.level, m.id, m.msg, m.hint, repr(m.obj)] for m in found]
    results.append(runs)
print(json.dumps(results))
"""
"""Run in a fresh interpreter with one app installed: for each pickled settings case, what
`manage.py check`, `check --fail-level WARNING` and `check --deploy` print and raise, and
the messages of `run_checks` without and with the deployment checks."""


def _check_runs(app: str, cases_file: str, directory: str) -> list[dict[str, Any]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "-c", CHECK_RUN, app, cases_file],
        capture_output=True,
        text=True,
        cwd=directory,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_manage_py_check_reports_what_django_cors_headers_reports(tmp_path: Any) -> None:
    """The same settings, each app alone: `check` and `check --fail-level WARNING` print,
    pass and fail alike, with the same messages (class, level, ID, text, hint); `check
    --deploy` adds corsfast's warnings and nothing else."""
    import pickle

    cases = [chosen for chosen, _ in CHECK_CASES + WARNING_CASES]
    cases_file = tmp_path / "cases.pickle"
    cases_file.write_bytes(pickle.dumps(cases))
    theirs = _check_runs("corsheaders", str(cases_file), str(tmp_path))
    ours = _check_runs("corsfast.django", str(cases_file), str(tmp_path))
    assert len(ours) == len(theirs) == len(cases)
    # Django keeps the registered checks in a set, so `run_checks` runs them in an order that
    # follows the functions' addresses, which change with what the process imported first (on
    # a free-threaded build the two runs differ): the lists are compared sorted, as `check`
    # prints them; corsfast's own come from one function, in order.
    for chosen, mine, their in zip(cases, ours, theirs):
        assert sorted(mine["messages"], key=repr) == sorted(their["messages"], key=repr), chosen
        assert mine["check"] == their["check"], chosen
        assert mine["fail-level"] == their["fail-level"], chosen
        added = [m for m in mine["deploy messages"] if m[2].startswith("corsfast.")]
        django_and_theirs = [m for m in mine["deploy messages"] if m not in added]
        assert sorted(django_and_theirs, key=repr) == sorted(their["deploy messages"], key=repr), chosen
        with override_settings(**chosen):
            assert [m[2] for m in added] == deploy_ids(), chosen
        assert all(f"({m[2]})" in mine["deploy"][1] for m in added), chosen
    # The cases cover errors (the command fails), warnings only under --deploy, and neither.
    assert any(run["check"][2] for run in ours)
    warned = [run for run in ours if any(m[2].startswith("corsfast.") for m in run["deploy messages"])]
    assert any(not run["fail-level"][2] for run in warned)


# -- conf: the same values, legacy names and precedence included -------------------------

CONF_CASES = [
    {"CORS_ALLOW_HEADERS": ["foo"]},
    {"CORS_ORIGIN_ALLOW_ALL": True},
    {"CORS_ALLOW_ALL_ORIGINS": False, "CORS_ORIGIN_ALLOW_ALL": True},
    {"CORS_ORIGIN_WHITELIST": ["example.com"]},
    {"CORS_ALLOWED_ORIGINS": ["example.com"], "CORS_ORIGIN_WHITELIST": ["example.org"]},
    {"CORS_ORIGIN_REGEX_WHITELIST": [r".*"]},
    {"CORS_ALLOWED_ORIGIN_REGEXES": ["a+"], "CORS_ORIGIN_REGEX_WHITELIST": [".*"]},
    {"CORS_EXPOSE_HEADERS": ("x",), "CORS_URLS_REGEX": r"^/api/", "CORS_PREFLIGHT_MAX_AGE": 0},
    {"CORS_ALLOW_CREDENTIALS": True, "CORS_ALLOW_PRIVATE_NETWORK": True, "CORS_ALLOW_METHODS": ["GET"]},
    {},
]
CONF_NAMES = [name for name, value in vars(corsheaders.conf.Settings).items() if isinstance(value, property)]


@pytest.mark.parametrize("chosen", CONF_CASES)
def test_conf_reads_what_django_cors_headers_reads(chosen: dict[str, Any]) -> None:
    # django-cors-headers' settings, and corsfast's own (CORSFAST_*) besides.
    assert sorted(CONF_NAMES) == sorted(
        name
        for name, value in vars(corsfast.django.conf.Settings).items()
        if isinstance(value, property) and not name.startswith("CORSFAST_")
    )
    with override_settings(**chosen):
        for name in CONF_NAMES:
            assert getattr(corsfast.django.conf.conf, name) == getattr(corsheaders.conf.conf, name), name


# -- the modules' surface -----------------------------------------------------------------


def test_same_public_names_and_values() -> None:
    for name in dir(corsheaders.middleware):
        if name.startswith("ACCESS_CONTROL_"):
            assert getattr(corsfast.django.middleware, name) == getattr(corsheaders.middleware, name)
    assert corsfast.django.defaults.default_headers == corsheaders.defaults.default_headers
    assert corsfast.django.defaults.default_methods == corsheaders.defaults.default_methods
    assert type(corsfast.django.signals.check_request_enabled) is type(
        __import__("corsheaders.signals").signals.check_request_enabled
    )
    assert corsfast.django.checks.is_sequence(["a"], str) and not corsfast.django.checks.is_sequence("a", int)
    assert corsfast.django.checks.re_type is re.Pattern


def test_same_middleware_methods_and_signatures() -> None:
    original, ours = corsheaders.middleware.CorsMiddleware, corsfast.django.middleware.CorsMiddleware
    assert (ours.sync_capable, ours.async_capable) == (original.sync_capable, original.async_capable) == (True, True)
    for name, member in vars(original).items():
        if name.startswith("__") and name not in ("__init__", "__call__", "__acall__"):
            continue
        assert hasattr(ours, name), name
        if callable(member) and name not in ("__call__", "__acall__"):
            assert (
                inspect.signature(getattr(ours, name)).parameters.keys() == inspect.signature(member).parameters.keys()
            )
    assert inspect.iscoroutinefunction(ours._corsfast_acall)


@pytest.mark.parametrize("engine_name", ["c", "py"])
def test_async_mode_like_django_cors_headers(engine_name: str) -> None:
    from asgiref.sync import iscoroutinefunction

    from corsfast.django.middleware import _on_engine

    engine = pytest.importorskip(f"corsfast._engine_{engine_name}")
    ours = _on_engine(engine)

    async def view(request: Any) -> Any:
        return None

    for middleware in (corsheaders.middleware.CorsMiddleware, ours):
        sync, asynchronous = middleware(lambda request: None), middleware(view)
        assert (sync.async_mode, asynchronous.async_mode) == (False, True)
        assert not iscoroutinefunction(sync) and iscoroutinefunction(asynchronous)
