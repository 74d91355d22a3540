"""The Django table of `corsfast bench`: every answer checked against django-cors-headers, tiny budgets.

Structure only: speed is never asserted here (the targets are evaluated by `corsfast bench`).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import django_site  # noqa: F401 - configures Django like the other Django tests
from django.conf import settings

from corsfast import NO_EXTENSIONS
from corsfast.bench import Selection, measure, summarise
from corsfast.bench.browser import SCENARIOS
from corsfast.bench.suites import django as django_table
from corsfast.django import _compile

HAS_COMPILED = importlib.util.find_spec("corsfast._engine_c") is not None and not NO_EXTENSIONS


def test_every_cell_is_checked_and_equal_to_django_cors_headers() -> None:
    suite = django_table.SUITE
    assert suite.unavailable() is None
    contenders, skipped = suite.available_contenders()
    ids = {c.id for c in contenders}
    assert {"view", "corsfast.django-py", "django-cors-headers"} <= ids
    assert ("corsfast.django-c" in ids) is HAS_COMPILED, skipped
    raw = measure([Selection(suite, list(SCENARIOS), contenders)], rounds=2, sample_ms=0.2)["django"]
    # Every answer passed its check, and corsfast's equal django-cors-headers' (twin_of).
    assert raw["failures"] == [] and raw["unsupported"] == []
    assert set(raw["entries"]) == {(s.id, c) for s in SCENARIOS for c in ids}
    results = summarise(suite, list(SCENARIOS), contenders, raw)
    rows = {(r["scenario"], r["contender"]): r for r in results}
    for scenario in SCENARIOS:
        assert rows[(scenario.id, "view")]["overhead_ns"] is None
        assert rows[(scenario.id, "corsfast.django-py")]["baseline"] == "django-cors-headers"
    assert not any(name.startswith("CORS_") for name in dir(settings))  # every cell's settings undone


def test_cors_settings_reach_corsfast_and_are_undone() -> None:
    from django.test import RequestFactory

    from corsfast.django.middleware import CorsMiddleware

    request: Any = RequestFactory().get("/", HTTP_ORIGIN="https://tenant-42.example.io")
    with django_table.cors_settings(django_table.settings_for("regex")):
        assert settings.CORS_ALLOWED_ORIGIN_REGEXES == [r"^https://[a-z0-9-]+\.example\.io$"]
        state = _compile.state_for(CorsMiddleware._corsfast_engine)
        assert state.compiled == state.generation  # compiled on entry, outside any clock
        response = CorsMiddleware(django_table._view)(request)
        assert response["access-control-allow-origin"] == "https://tenant-42.example.io"
    assert not hasattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES")
    response = CorsMiddleware(django_table._view)(RequestFactory().get("/", HTTP_ORIGIN="https://tenant-42.example.io"))
    assert "access-control-allow-origin" not in response
