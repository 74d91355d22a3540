"""The Flask table: corsfast.flask against flask-cors 6.0.5, as `CORS(app)` and as `@cross_origin`.

Every contender is a Flask app called as a WSGI server calls it (`protocols.wsgi_call`), on
the environ of the scenario's browser request (a fresh copy per call: Flask writes into
it). Overhead is measured above the same Flask app without CORS; the extension rows are
divided by flask-cors' `CORS(app)`, the decorator rows by flask-cors' `@cross_origin`. The
corsfast rows must answer exactly as their flask-cors row (checked before timing).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..browser import ALLOW_HEADERS, ALLOW_METHODS, EXACT_ORIGINS, ORIGIN_REGEX, SCENARIOS, answer_problem
from ..protocols import PATH, WSGIAnswer, wsgi_call, wsgi_environ
from ..suite import Contender, Scenario, Suite, Target, register_suite
from .asgi import engine_module, quiet

__all__ = ("SUITE", "flask_app", "flask_cors_options")

_BODY = b'{"hello": "world"}'


def flask_cors_options(config: str) -> dict[str, Any]:
    """Return flask-cors' options (and corsfast.flask's) for a scenario's config."""
    options: dict[str, Any] = {"methods": list(ALLOW_METHODS), "allow_headers": list(ALLOW_HEADERS)}
    if config == "any-credentials":
        options.update(origins="*", supports_credentials=True)
    else:
        options["origins"] = [*EXACT_ORIGINS, ORIGIN_REGEX] if config == "regex" else list(EXACT_ORIGINS)
    return options


def flask_app(attach: str, package: Optional[str], scenario: Scenario, engine: Optional[str]) -> Any:
    """Return a Flask app with one JSON view at PATH; `attach` is "bare", "extension" or "decorator"."""
    import importlib

    from flask import Flask, Response

    app = Flask("corsfast_bench_flask")
    extra: dict[str, Any] = {} if engine is None else {"_engine": engine_module(engine)}
    cors = importlib.import_module(package) if package else None

    def data() -> Response:
        return Response(_BODY, mimetype="application/json")

    view: Callable[[], Response] = data
    if attach == "decorator":
        assert cors is not None
        view = quiet(lambda: cors.cross_origin(**flask_cors_options(scenario.config), **extra))(data)
    app.add_url_rule(PATH, "data", view, methods=["GET", "PUT"])
    if attach == "extension":
        assert cors is not None
        quiet(lambda: cors.CORS(app, **flask_cors_options(scenario.config), **extra))
    return app


def _builder(attach: str, package: Optional[str] = None, engine: Optional[str] = None) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Callable[[dict[str, Any]], WSGIAnswer]:
        call = wsgi_call(flask_app(attach, package, scenario, engine))
        return lambda environ: call(environ.copy())

    return build


def check_answer(contender: Contender, scenario: Scenario, answer: WSGIAnswer) -> Optional[str]:
    """Return why a Flask answer is wrong for `scenario`, or None."""
    status, headers, body = answer
    if scenario.simple and body != _BODY:
        return f"unexpected body {body[:60]!r}"
    if scenario.expect == "pass" and contender.family != "floor":
        # flask-cors' always_send: without an Origin, the first listed origin (sorted) is sent.
        acao = [value for name, value in headers if name.lower() == "access-control-allow-origin"]
        expected = [min(EXACT_ORIGINS)] if scenario.config != "any-credentials" else []
        return None if status == 200 and acao == expected else f"{status} with ACAO {acao!r}, expected {expected!r}"
    return answer_problem(scenario, status, headers, floor=contender.family == "floor")


def _contenders() -> list[Contender]:
    rows = [Contender("bare", "bare Flask app (floor)", _builder("bare"), None, family="floor")]
    for attach, suffix, label in (("extension", "", "CORS(app)"), ("decorator", "-decorator", "@cross_origin")):
        reference = f"flask-cors{suffix}"
        rows += [
            Contender(reference, f"flask-cors {label}", _builder(attach, "flask_cors"), "bare", family="flask-cors",
                      module="flask_cors", baseline=reference),
            Contender(f"corsfast-flask{suffix}-py", f"corsfast.flask {label} pure twin",
                      _builder(attach, "corsfast.flask", "py"), "bare", twin_of=reference, family="corsfast-py",
                      baseline=reference),
            Contender(f"corsfast-flask{suffix}-c", f"corsfast.flask {label} compiled",
                      _builder(attach, "corsfast.flask", "c"), "bare", twin_of=reference, family="corsfast-c",
                      module="corsfast._engine_c", baseline=reference),
        ]  # fmt: skip
    return rows


SUITE = register_suite(
    Suite(
        "flask",
        "Flask (flask-cors) cost",
        "sync",
        scenarios=SCENARIOS,
        make_request=lambda contender, scenario: wsgi_environ(scenario),
        check=check_answer,
        contenders=_contenders(),
        baseline="flask-cors",
        baseline_label="flask-cors",
        targets=[
            Target("corsfast-flask-c", "flask-cors", 0.25),
            Target("corsfast-flask-py", "flask-cors", 0.25),
            Target("corsfast-flask-decorator-c", "flask-cors-decorator", 0.25),
            Target("corsfast-flask-decorator-py", "flask-cors-decorator", 0.25),
        ],
        targets_title=(
            "targets (ratios within this run): corsfast.flask's overhead at most 0.25 of flask-cors', as "
            "CORS(app) and as @cross_origin, on both engines"
        ),
        requires=("flask", "flask_cors"),
        versions=("flask", "flask-cors", "werkzeug"),
        method="one loop calling the Flask app as a WSGI server does (environ copied, body joined, close())",
        floor_note="floor = the same Flask app and view without CORS.",
        ratio_note="x flask-cors = overhead / flask-cors' overhead (CORS(app) rows: its CORS(app); "
        "@cross_origin rows: its @cross_origin) in the same scenario.",
    )
)
