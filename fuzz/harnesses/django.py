"""The Django drop-in: `corsfast.django.middleware.CorsMiddleware` and its engine (`DjangoPolicy`), on both engines.

Fuzzed django-cors-headers settings (the `CORS_*` values, as `Snapshot.read` would hold them,
in the shapes the engine compiles and now and then in others, which the middleware's methods
serve) are compiled with `compile_spec` on each engine, with a fuzzed cache bound. Then one to
three requests (method, path against `CORS_URLS_REGEX`, Origin, Access-Control-Request-Method,
-Request-Headers, -Request-Private-Network in `META` or in an already built `request.headers`,
values that are not str) go through the real middleware, sync or async, around a view whose
response sets its own headers (Vary in any form, its own CORS headers; streaming responses,
responses with their own `__setitem__`, results that are not responses), with a
`check_request_enabled` receiver that answers from the input. Compared on both engines: the
response's header items in order, the status, `request._cors_enabled`, whether the view ran,
the outcome; and the engine's parts on their own: `url_enabled` (against `re.match`),
`lookup`, `django_vary` (against `patch_vary_headers`), `cache_info`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if not settings.configured:
    settings.configure(
        SECRET_KEY="corsfast-fuzz",
        INSTALLED_APPS=[],
        USE_TZ=True,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        DEBUG=False,
    )
    django.setup()

from cases import DJANGO_URL_REGEXES, run_sync
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import BadHeaderError, HttpResponseBase
from django.utils.cache import patch_vary_headers

from corsfast.django import _compile
from corsfast.django.middleware import _on_engine
from corsfast.django.signals import check_request_enabled
from fuzz.common import (
    PY,
    Built,
    C,
    Difference,
    Input,
    Violation,
    Writer,
    check_emitted,
    compare,
    options_key,
    outcome,
    short,
)

ORIGINS = (
    "https://example.com",
    "http://example.com",
    "https://api.example.com",
    "null",
    "http://localhost:3000",
    "https://example.com:443",
    "https://EXAMPLE.com",
    "https://example.com/",
    "file://",
    "",
    "https://caf\xe9.com",
    "https://xn--bcher-kva.de",
)
REGEXES = (
    r"^https://\w+\.example\.com$",
    r"https://[a-z0-9-]+\.example\.com",
    r".*",
    r"(?i)https://api\.example\.com",
    r"null",
    r"^https://example\.com",
    r"https?://(www\.)?example\.(com|org)(:\d+)?",
    r"https://caf\xe9\.com",
)
URL_REGEXES = DJANGO_URL_REGEXES
URL_TAILS = ("", ".*", ".*$", "$", r"\Z", r".*\Z", ".+$")
HEADERS = ("accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with", "X-A", "*")
METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT", "*", "get")
EXPOSE = ("X-E", "X-Request-Id", "*", "x-e")
MAX_AGES = (86400, 0, 1, 600, 10**9, -1)
CACHE_SIZES = (4096, 0, 1, 2, 3)
MAX_ORIGIN_LENGTHS = (2048, 16, 40)
ODD = ("flag-int", "flag-str", "age-str", "origins-str", "origins-set", "regexes-bad", "url-bad", "url-bytes")
"""Settings of shapes the engine does not compile (the methods answer; both engines alike)."""

REQUEST_METHODS = ("GET", "OPTIONS", "OPTIONS", "POST", "PUT", "options", "fuzzed")
PATHS = ("/", "/api/", "/api/x", "/api/\n", "/api/x\n", "/api/\nx", "/API/", "\n", "/caf\xe9/x", "/v2/a", "")
META_KEYS = (
    "HTTP_ORIGIN",
    "HTTP_ACCESS_CONTROL_REQUEST_METHOD",
    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
    "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK",
)
VALUE_KINDS = ("str", "str", "str", "absent", "absent", "pooled", "bytes", "none")
POOLED = {
    "HTTP_ORIGIN": ORIGINS,
    "HTTP_ACCESS_CONTROL_REQUEST_METHOD": ("PUT", "GET", "DELETE", "", "put"),
    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": ("x-a", "content-type, authorization", "", "X-B"),
    "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK": ("true", "false", "TRUE", ""),
}
SIGNALS = ("none", "none", "no", "yes", "raise")
RESPONSES = (
    "plain",
    "plain",
    "plain",
    "streaming",
    "own_setitem",
    "raw_vary",
    "not_a_response",
    "store_subclass",
    "vary_not_str",
    "vary_not_pair",
)
APP_NAMES = (
    "Vary",
    "vary",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
    "Content-Type",
    "X-App",
)
VARY_VALUES = ("Origin", "origin", "ORIGIN", "Accept", "Cookie", "*", "", " ", "Accept, Cookie", "Accept,origin")
STATUSES = (200, 204, 404, 500)


class AppError(Exception):
    """Raised by a signal receiver: both engines must let it through alike."""


class StoreSubclass(dict):  # type: ignore[type-arg]
    """A header store that records its writes (Django's is a plain dict)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.writes = [*getattr(self, "writes", []), key]


class OwnSetItemResponse(HttpResponse):
    """A response whose `__setitem__` is its own: the engine must go through it."""

    def __setitem__(self, header: str, value: Any) -> None:
        super().__setitem__(header, value)
        self.seen = [*getattr(self, "seen", []), header]


# -- settings ------------------------------------------------------------------------------


def strings(inp: Input, pool: tuple[str, ...], limit: int = 4) -> list[str]:
    return [inp.text() if inp.below(6) == 0 else inp.pick(pool) for _ in range(inp.below(limit + 1))]


def url_regex(inp: Input) -> Any:
    kind = inp.below(4)
    if kind == 0:  # one of the common forms around a fuzzed literal
        return "^" + re.escape(inp.text()[:256]) + inp.pick(URL_TAILS)
    if kind == 1:
        return re.compile(inp.pick(URL_REGEXES))
    return inp.pick(URL_REGEXES)


def read_settings(inp: Input) -> dict[str, Any]:
    """Return django-cors-headers' settings as the snapshot holds them (lower-case names)."""
    values: dict[str, Any] = {
        "allow_headers": strings(inp, HEADERS),
        "allow_methods": strings(inp, METHODS),
        "allow_credentials": inp.flag(),
        "allow_private_network": inp.flag(),
        "preflight_max_age": inp.pick(MAX_AGES),
        "allow_all_origins": inp.below(4) == 0,
        "allowed_origins": strings(inp, ORIGINS),
        "allowed_origin_regexes": [
            re.escape(inp.text()[:256]) if inp.below(6) == 0 else inp.pick(REGEXES) for _ in range(inp.below(3))
        ],
        "expose_headers": strings(inp, EXPOSE, 2),
        "urls_regex": url_regex(inp),
    }
    if inp.below(8) == 0:
        odd = inp.pick(ODD)
        if odd == "flag-int":
            values["allow_credentials"] = 1
        elif odd == "flag-str":
            values["allow_all_origins"] = "yes"
        elif odd == "age-str":
            values["preflight_max_age"] = "600"
        elif odd == "origins-str":
            values["allowed_origins"] = "https://example.com"
        elif odd == "origins-set":
            values["allowed_origins"] = frozenset(values["allowed_origins"])
        elif odd == "regexes-bad":
            values["allowed_origin_regexes"] = ["(unclosed"]
        elif odd == "url-bad":
            values["urls_regex"] = "(unclosed"
        else:
            values["urls_regex"] = b"^/api/"
    return values


def write_settings(w: Writer, values: dict[str, Any]) -> None:
    """Encode pooled settings as `read_settings` reads them (for seeds)."""
    for name, pool, limit in (
        ("allow_headers", HEADERS, 4),
        ("allow_methods", METHODS, 4),
    ):
        items = values[name][:limit]
        w.below(limit + 1, len(items))
        for item in items:
            w.below(6, 1).pick(pool, item)
    w.flag(values.get("allow_credentials", False)).flag(values.get("allow_private_network", False))
    w.pick(MAX_AGES, values.get("preflight_max_age", 86400))
    w.below(4, 0 if values.get("allow_all_origins") else 1)
    origins = values.get("allowed_origins", [])[:4]
    w.below(5, len(origins))
    for origin in origins:
        w.below(6, 1).pick(ORIGINS, origin)
    regexes = values.get("allowed_origin_regexes", [])[:2]
    w.below(3, len(regexes))
    for regex in regexes:
        w.below(6, 1).pick(REGEXES, regex)
    expose = values.get("expose_headers", [])[:2]
    w.below(3, len(expose))
    for item in expose:
        w.below(6, 1).pick(EXPOSE, item)
    w.below(4, 2).pick(URL_REGEXES, values.get("urls_regex", r"^.*$"))
    w.below(8, 1)


def snapshot(values: dict[str, Any]) -> _compile.Snapshot:
    """Return the snapshot `Snapshot.read()` makes of these settings."""
    origins = values["allowed_origins"]
    keys: Optional[tuple[tuple[Any, Any], ...]] = None
    if isinstance(origins, (list, tuple)):
        try:
            keys = tuple((url.scheme, url.netloc) for url in map(urlsplit, origins))
        except Exception:
            keys = None
    return _compile.Snapshot(origin_keys=keys, **values)


# -- the middleware on each engine -----------------------------------------------------------


class View:
    """The view behind the middleware: makes a fresh response per call, records the calls."""

    def __init__(self) -> None:
        self.make: Callable[[], Any] = HttpResponse
        self.calls = 0
        self.app_items: list[tuple[str, str]] = []

    def __call__(self, request: Any) -> Any:
        self.calls += 1
        response = self.make()
        if isinstance(response, HttpResponseBase):
            self.app_items = list(response.items())
        return response


def async_view(view: View) -> Any:
    """Return an async view around `view` (what Django's async handler gives the middleware)."""

    async def respond(request: Any) -> Any:
        return view(request)

    respond.view = view  # type: ignore[attr-defined]
    return respond


def build(engine: ModuleType, values: dict[str, Any], cache_size: int, max_length: int) -> Any:
    """Return (sync middleware, async middleware, policy or None) on `engine` for these settings."""
    snap = snapshot(values)
    spec = _compile.compile_spec(snap, engine)
    policy = None
    if spec is not None:
        spec = dataclasses.replace(spec, cache_size=cache_size, max_origin_length=max_length)
        policy = engine.DjangoPolicy(spec)
    middlewares = []
    cls = _on_engine(engine)
    for view in (View(), async_view(View())):
        middleware = cls(view)
        state = engine.DjangoState(None)
        state.snapshot = snap
        state.policy = policy
        state.generation = state.compiled = 0
        middleware._corsfast_state = state
        middlewares.append(middleware)
    return middlewares[0], middlewares[1], policy


# -- requests and responses ------------------------------------------------------------------


def meta_value(inp: Input, key: str) -> Any:
    kind = inp.pick(VALUE_KINDS)
    if kind == "absent":
        return None
    if kind == "pooled":
        return inp.pick(POOLED[key])
    text = inp.text()
    if kind == "bytes":
        return text.encode("utf-8")
    if kind == "none":
        return ("none",)
    return text


def make_request(method: str, path: str, meta: dict[str, Any], headers_first: bool) -> HttpRequest:
    request = HttpRequest()
    request.method = method
    request.path = request.path_info = path
    request.META = {"SERVER_NAME": "testserver", "SERVER_PORT": "80", "REQUEST_METHOD": method}
    for key, value in meta.items():
        request.META[key] = None if value == ("none",) else value
    if headers_first:
        request.headers  # noqa: B018 - built now: the engine reads it instead of META
    return request


def response_maker(inp: Input) -> Callable[[], Any]:
    kind = inp.pick(RESPONSES)
    status = inp.pick(STATUSES)
    headers = []
    for _ in range(inp.below(4)):
        name = inp.pick(APP_NAMES) if inp.below(4) else inp.text()
        value = inp.pick(VARY_VALUES) if inp.below(3) == 0 else inp.text()
        headers.append((name, value))
    raw_vary = inp.text() + "\u0100"

    def make() -> Any:
        if kind == "not_a_response":
            return "not a response"
        if kind == "streaming":
            response: Any = StreamingHttpResponse(iter([b"a"]), status=status)
        elif kind == "own_setitem":
            response = OwnSetItemResponse("own", status=status)
        else:
            response = HttpResponse("ok", status=status)
        for name, value in headers:
            try:
                response[name] = value
            except (BadHeaderError, ValueError, UnicodeError):
                pass  # the app's own mistake, refused by Django before the middleware sees it
        store = response.headers._store
        if kind == "raw_vary":
            store["vary"] = ("vary", raw_vary)
        elif kind == "store_subclass":  # a dict, but not exactly: the engine must not write past its methods
            response.headers._store = StoreSubclass(store)
        elif kind == "vary_not_str":
            store["vary"] = ("Vary", len(raw_vary))
        elif kind == "vary_not_pair":
            store["vary"] = ["Vary", raw_vary[:-1]]
        return response

    make.odd = kind.startswith(("not_", "vary_not"))  # type: ignore[attr-defined]
    return make


SIGNAL = ["none"]


def receiver(sender: Any, request: Any, **kwargs: Any) -> Any:
    if SIGNAL[0] == "raise":
        raise AppError("the receiver failed")
    return SIGNAL[0] == "yes"


def set_signal(mode: str) -> None:
    SIGNAL[0] = mode
    if mode == "none":
        check_request_enabled.disconnect(receiver, dispatch_uid="fuzz")
    else:
        check_request_enabled.connect(receiver, weak=False, dispatch_uid="fuzz")


def run(middleware: Any, request: HttpRequest, make: Callable[[], Any]) -> dict[str, Any]:
    view = getattr(middleware.get_response, "view", middleware.get_response)
    view.make = make
    view.calls = 0
    view.app_items = []
    if middleware.async_mode:
        result = outcome(lambda: run_sync(middleware(request)))
    else:
        result = outcome(middleware, request)
    # An async view's result that is not a response fails in patch_vary_headers (AttributeError),
    # as under django-cors-headers (its assertion only looks at the awaitable).
    observed: dict[str, Any] = {"outcome": result[0], "view_calls": view.calls, "odd_view": make.odd}
    if result[0] == "raised":
        observed["raised"] = result[1]
    response = result[1] if result[0] == "ok" else None
    if isinstance(response, HttpResponseBase):
        observed["status"] = response.status_code
        observed["items"] = list(response.items())
        observed["type"] = type(response).__name__
        observed["seen"] = getattr(response, "seen", None)
        observed["writes"] = getattr(response.headers._store, "writes", None) if hasattr(response, "headers") else None
    elif response is not None:
        observed["result"] = type(response).__name__
    observed["enabled"] = request.__dict__.get("_cors_enabled", "unset")
    observed["app_items"] = view.app_items
    return observed


def as_bytes(items: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Return the middleware's header items as a server sends them (a str beyond latin-1 is a Violation)."""
    out = []
    for name, value in items:
        try:
            out.append((str(name).lower().encode("latin-1"), str(value).encode("latin-1")))
        except UnicodeEncodeError as exc:
            raise Violation(f"a header no server can send: {short((name, value))}") from exc
    return out


def entry_fields(entry: Any) -> Any:
    if entry[0] != "ok":
        return entry
    value = entry[1]
    return ("ok", value.allowed, value.ask_signal, value.simple, value.options)


def check_parts(policies: tuple[Any, Any], values: dict[str, Any], path: str, origin: Any, vary: str) -> None:
    """The engine's parts on their own, against each other and against Django's code."""
    compiled, pure = policies
    got = outcome(compiled.url_enabled, path)
    compare(f"url_enabled({path!r})", got, outcome(pure.url_enabled, path))
    regex = values["urls_regex"]
    if got[0] == "ok" and got[1] is not (re.match(regex, path) is not None):
        raise Violation(f"url_enabled({path!r}) is {got[1]} for CORS_URLS_REGEX {regex!r}")
    if type(origin) is str or type(origin) is bytes:
        compare(
            f"lookup({origin!r})",
            entry_fields(outcome(compiled.lookup, origin)),
            entry_fields(outcome(pure.lookup, origin)),
        )
    split = _compile.VARY_SPLIT  # None: a Django the engine does not know, whose patch it calls
    if split is None:
        return
    got = outcome(C.django_vary, vary, split)
    compare(f"django_vary({vary!r})", got, outcome(PY.django_vary, vary, split))
    if "\r" not in vary and "\n" not in vary and (vary.isascii() or max(vary) <= "\xff"):
        expected = HttpResponse()
        expected["Vary"] = vary
        patch_vary_headers(expected, ("origin",))
        if got != ("ok", expected["Vary"]):
            raise Violation(f"django_vary({vary!r}) is {got!r}, patch_vary_headers makes {expected['Vary']!r}")


def one_input(data: bytes) -> None:
    inp = Input(data)
    values = read_settings(inp)
    cache_size = inp.pick(CACHE_SIZES)
    max_length = inp.pick(MAX_ORIGIN_LENGTHS)
    built = Built.get(
        options_key("django", values, cache_size, max_length),
        lambda engine: build(engine, values, cache_size, max_length),
        (ImproperlyConfigured,),
    )
    if built is None:  # refused alike: a header value with a control character (compile_spec raises)
        return
    compiled, pure = built
    if (compiled[2] is None) is not (pure[2] is None):
        raise Difference(f"compile_spec: compiled {compiled[2]!r}, pure {pure[2]!r}")
    policies = (compiled[2], pure[2]) if compiled[2] is not None else None
    if policies is not None:
        for each in policies:
            each.cache_clear()
    asynchronous = inp.below(4) == 0
    set_signal(inp.pick(SIGNALS))
    for _ in range(inp.below(3) + 1):
        method = inp.pick(REQUEST_METHODS)
        if method == "fuzzed":
            method = inp.text()
        path = inp.pick(PATHS) if inp.below(3) else inp.text()
        meta = {key: value for key in META_KEYS if (value := meta_value(inp, key)) is not None}
        headers_first = inp.below(4) == 0
        make = response_maker(inp)
        vary = inp.pick(VARY_VALUES) if inp.flag() else inp.text()
        if policies is not None:
            check_parts(policies, values, path, meta.get("HTTP_ORIGIN"), vary)
        index = 1 if asynchronous else 0
        answers = []
        for middleware in (compiled[index], pure[index]):
            answers.append(run(middleware, make_request(method, path, meta, headers_first), make))
        compare(f"Django exchange {method!r} {path!r} {short(meta)}", answers[0], answers[1])
        check_answer(answers[0], meta.get("HTTP_ORIGIN"), policies is not None, configured_values(values))
    if policies is not None:
        for each in policies:
            _, _, maxsize, size = tuple(each.cache_info())
            if size > maxsize:
                raise Violation(f"the origin cache holds {size} entries, bound {maxsize}")
        compare("cache_info", tuple(policies[0].cache_info()), tuple(policies[1].cache_info()))


def check_answer(answer: dict[str, Any], origin: Any, compiled_settings: bool, configured: dict[str, str]) -> None:
    expected_errors: tuple[type, ...] = (AppError, AssertionError)
    if answer["odd_view"]:
        expected_errors += (AttributeError, TypeError)
    if not all(type(v) is str and _latin1(v) and "\n" not in v and "\r" not in v for _, v in answer["app_items"]):
        # Django MIME-encodes the app's non-latin-1 value, folding a long one with "\n ", and
        # then refuses it in `patch_vary_headers` (BadHeaderError), as with django-cors-headers.
        expected_errors += (BadHeaderError,)
    if answer["outcome"] == "raised" and answer["raised"] not in expected_errors and compiled_settings:
        # Settings the engine compiled never make a request fail (the methods, serving other
        # shapes, fail as django-cors-headers does with them: compared, not judged).
        if answer["raised"] is not TypeError or type(origin) is str:
            raise Violation(f"the middleware raised {answer['raised'].__name__}")
    if "items" not in answer:
        return
    expected: Optional[bytes] = None
    if type(origin) is str or type(origin) is bytes:
        # What `response["Access-Control-Allow-Origin"] = origin` stores (MIME-encoded beyond
        # latin-1; bytes, which no server puts in META, decoded as latin-1).
        try:
            stored = _compile._HEADERS._convert_to_charset(origin, "latin-1", mime_encode=True)
            expected = stored.encode("latin-1")
        except (BadHeaderError, UnicodeError):
            expected = None
    app = [(str(n).lower().encode("utf-8"), str(v).encode("utf-8")) for n, v in answer["app_items"]]
    own = set(answer["app_items"])
    app_latin1 = all(type(v) is str and _latin1(v) for _, v in answer["app_items"])
    checked = []
    for name, value in answer["items"]:
        if (name, value) in own:
            continue
        lower = name.lower()
        if lower in configured:
            # The settings' own text, verbatim: its control characters are the settings'
            # (corsfast.W009 warns about them; Django refuses CR and LF), not the request's.
            if value != configured[lower]:
                raise Violation(f"{name}: {short(value)} is not the configured {short(configured[lower])}")
            continue
        if lower == "vary" and not app_latin1:
            continue  # Django's patch_vary_headers MIME-encodes the app's own non-latin-1 Vary
        checked.append((name, value))
    check_emitted(as_bytes(checked), expected, "Django response", app)


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def configured_values(values: dict[str, Any]) -> dict[str, str]:
    """Return the header values the settings alone decide, as Django stores them."""
    out = {}
    for name, key in (
        ("access-control-allow-headers", "allow_headers"),
        ("access-control-allow-methods", "allow_methods"),
        ("access-control-expose-headers", "expose_headers"),
    ):
        try:
            out[name] = _compile._stored(", ".join(values[key]))
        except Exception:
            pass
    try:
        out["access-control-max-age"] = _compile._stored(str(values["preflight_max_age"]))
    except Exception:
        pass
    return out


# -- seeds -----------------------------------------------------------------------------------

SEED_SETTINGS = (
    {
        "allowed_origins": ["https://example.com"],
        "allow_headers": ["accept", "content-type"],
        "allow_methods": ["GET", "POST"],
    },
    {"allow_all_origins": True, "allow_credentials": True, "expose_headers": ["X-E"]},
    {
        "allowed_origin_regexes": [r"^https://\w+\.example\.com$"],
        "urls_regex": r"^/api/.*$",
        "allow_private_network": True,
    },
    {"allowed_origins": ["null", "http://localhost:3000"], "preflight_max_age": 0, "urls_regex": r"^/api/$"},
)
SEED_REQUESTS = (
    ("GET", "/", {"HTTP_ORIGIN": "https://example.com"}),
    ("OPTIONS", "/api/x", {"HTTP_ORIGIN": "https://example.com", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}),
    (
        "OPTIONS",
        "/api/",
        {
            "HTTP_ORIGIN": "null",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET",
            "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK": "true",
        },
    ),
    ("GET", "/api/x", {"HTTP_ORIGIN": "https://api.example.com"}),
    ("POST", "/", {}),
)


def seeds() -> Iterable[bytes]:
    for config in SEED_SETTINGS:
        values = {"allow_headers": [], "allow_methods": [], **config}
        for method, path, meta in SEED_REQUESTS:
            for vary in ("Accept", "Origin", "*"):
                w = Writer()
                write_settings(w, values)
                w.pick(CACHE_SIZES, 4096).pick(MAX_ORIGIN_LENGTHS, 2048)
                w.below(4, 1).pick(SIGNALS, "none").below(3, 0)
                w.pick(REQUEST_METHODS, method).below(3, 1).pick(PATHS, path)
                for key in META_KEYS:
                    if key in meta and meta[key] in POOLED[key]:
                        w.pick(VALUE_KINDS, "pooled").pick(POOLED[key], meta[key])
                    else:
                        w.pick(VALUE_KINDS, "absent")
                w.below(4, 1)
                w.pick(RESPONSES, "plain").pick(STATUSES, 200).below(4, 1)
                w.below(4, 1).pick(APP_NAMES, "Vary").below(3, 0).pick(VARY_VALUES, vary)
                w.blob(b"")
                w.flag(True).pick(VARY_VALUES, vary)
                yield w.data()
