"""The Django table: `corsfast.django` against django-cors-headers, middleware called directly.

Each contender is a Django middleware around a view answering "ok", called with a Django
`HttpRequest` built by `RequestFactory` from the browser's headers (`browser.SCENARIOS`);
the floor is the view alone. Every timed call gets a fresh request (a copy of the cell's
request, made the same way for the floor, so the copy costs nothing in the overhead):
django-cors-headers builds `request.headers` once per request, as it does in a server.

The CORS settings of a scenario's configuration are set on Django's settings themselves
(not through `override_settings`, whose extra layer would slow django-cors-headers'
per-request setting reads), with Django's `setting_changed` signal, around every use of a
cell; corsfast recompiles then, outside the clock.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable, Optional

from ..browser import ALLOW_HEADERS, ALLOW_METHODS, EXACT_ORIGINS, ORIGIN_REGEX, SCENARIOS, answer_problem
from ..suite import Contender, Scenario, Suite, Target, register_suite

__all__ = ("SUITE", "cors_settings", "settings_for")

PATH = "/api/data"
BODY = b"ok"
Answer = tuple[int, list[tuple[str, str]], bytes]


def settings_for(config: str) -> dict[str, Any]:
    """Return the django-cors-headers settings of a scenario's configuration."""
    common: dict[str, Any] = {"CORS_ALLOW_METHODS": list(ALLOW_METHODS), "CORS_ALLOW_HEADERS": list(ALLOW_HEADERS)}
    if config == "any-credentials":
        return {**common, "CORS_ALLOW_ALL_ORIGINS": True, "CORS_ALLOW_CREDENTIALS": True}
    chosen = {**common, "CORS_ALLOWED_ORIGINS": list(EXACT_ORIGINS)}
    if config == "regex":
        # Anchored: django-cors-headers' re.match then allows what corsfast's fullmatch allows.
        chosen["CORS_ALLOWED_ORIGIN_REGEXES"] = [f"^{ORIGIN_REGEX}$"]
    return chosen


_MISSING = object()


@contextmanager
def cors_settings(chosen: dict[str, Any]) -> Iterator[None]:
    """Set `chosen` on Django's settings (sending `setting_changed`), and undo it after.

    corsfast's policies are compiled again on entry, so that no timed call pays for it.
    """
    from django.conf import settings
    from django.core.signals import setting_changed

    from ...django import _compile

    kind = type(settings._wrapped)
    saved = {name: getattr(settings, name, _MISSING) for name in chosen}
    for name, value in chosen.items():
        setattr(settings, name, value)
        setting_changed.send(sender=kind, setting=name, value=value, enter=True)
    for state in list(_compile._STATES.values()):
        state.refresh()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                delattr(settings, name)
            else:
                setattr(settings, name, value)
            setting_changed.send(sender=kind, setting=name, value=getattr(settings, name, None), enter=False)


def _setup() -> None:
    """Configure Django for the table when the process has not (idempotent)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="corsfast-bench", ALLOWED_HOSTS=["*"], USE_TZ=True, INSTALLED_APPS=[], MIDDLEWARE=[]
        )
        django.setup()


def _view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(BODY)


def _fresh(template: Any) -> Any:
    """Return a new request with the template's state: what a server builds per request."""
    request = object.__new__(type(template))
    request.__dict__.update(template.__dict__)
    return request


def _timed(app: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call(template: Any) -> Any:
        return app(_fresh(template))

    return call


def _make_request(contender: Contender, scenario: Scenario) -> Any:
    from django.test import RequestFactory

    headers = {
        "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
        for name, value in scenario.headers
        if name not in (b"host", b"connection")
    }
    return RequestFactory().generic(scenario.method, PATH, **headers)


def _record(app: Callable[[Any], Any], request: Any) -> Answer:
    response = app(request)
    return response.status_code, list(response.items()), response.content


def _check(contender: Contender, scenario: Scenario, answer: Answer) -> Optional[str]:
    status, headers, body = answer
    if scenario.simple and body != BODY:
        return f"unexpected body {body!r}"
    return answer_problem(scenario, status, headers, floor=contender.family == "floor")


def _engine(name: str) -> ModuleType:
    return importlib.import_module(f"corsfast._engine_{name}")


def _corsfast(engine: str) -> Callable[[Scenario], Callable[[Any], Any]]:
    def build(scenario: Scenario) -> Callable[[Any], Any]:
        from ...django.middleware import _on_engine

        return _timed(_on_engine(_engine(engine))(_view))

    return build


def _django_cors_headers(scenario: Scenario) -> Callable[[Any], Any]:
    from corsheaders.middleware import CorsMiddleware

    return _timed(CorsMiddleware(_view))


SUITE = register_suite(
    Suite(
        "django",
        "Django middleware cost",
        "sync",
        scenarios=SCENARIOS,
        make_request=_make_request,
        record=_record,
        check=_check,
        context=lambda contender, scenario: cors_settings(settings_for(scenario.config)),
        baseline="django-cors-headers",
        baseline_label="django-cors-headers",
        targets_title=(
            "targets (ratios within this run): corsfast.django's overhead at most 0.15 of django-cors-headers' "
            "on simple requests and 0.30 on every request, on both engines"
        ),
        requires=("django",),
        setup=_setup,
        versions=("django", "django-cors-headers"),
        method="one loop calling middleware(request) on a fresh RequestFactory request per call",
        floor_note="floor = the view alone (HttpResponse('ok')), on the same fresh requests.",
        ratio_note="x django-cors-headers = overhead / django-cors-headers' overhead in the same scenario.",
    )
)

SUITE.add_contenders(
    Contender("view", "Django view alone (floor)", lambda s: _timed(_view), None, family="floor"),
    Contender(
        "corsfast.django-c",
        "corsfast.django compiled",
        _corsfast("c"),
        "view",
        twin_of="django-cors-headers",
        family="corsfast-c",
        module="corsfast._engine_c",
    ),
    Contender(
        "corsfast.django-py",
        "corsfast.django pure twin",
        _corsfast("py"),
        "view",
        twin_of="django-cors-headers",
        family="corsfast-py",
    ),
    Contender(
        "django-cors-headers",
        "django-cors-headers CorsMiddleware",
        _django_cors_headers,
        "view",
        family="django-cors-headers",
        module="corsheaders",
    ),
)

# The speed targets: 0.15 on simple requests, 0.30 on preflights, both engines.
for _contender in ("corsfast.django-c", "corsfast.django-py"):
    SUITE.add_targets(
        Target(
            _contender,
            "django-cors-headers",
            0.15,
            simple_only=True,
            label=f"{_contender} overhead <= 0.15 x django-cors-headers' (simple requests)",
        ),
        Target(
            _contender,
            "django-cors-headers",
            0.30,
            label=f"{_contender} overhead <= 0.30 x django-cors-headers' (every request, preflights included)",
        ),
    )
