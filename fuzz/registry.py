"""Every harness, by name: `python -m fuzz.run NAME` and `bash scripts/fuzz.sh SECONDS NAME` take these names.

A harness is a module with `one_input(data: bytes) -> None` (one fuzz input, compiled engine
against the pure twin, invariants checked) and `seeds() -> Iterable[bytes]` (its seed corpus,
written from the test cases). Adding one is that module plus one line here (fuzz/README.md).
"""

HARNESSES: dict[str, str] = {
    "scan": "fuzz.harnesses.scan",
    "origin": "fuzz.harnesses.origin",
    "preflight": "fuzz.harnesses.preflight",
    "merge": "fuzz.harnesses.merge",
    "asgi_native": "fuzz.harnesses.asgi_native",
    "asgi_starlette": "fuzz.harnesses.asgi_starlette",
    "asgi_kui": "fuzz.harnesses.asgi_kui",
    "wsgi": "fuzz.harnesses.wsgi",
    "options": "fuzz.harnesses.options",
    "django": "fuzz.harnesses.django",
    "flask": "fuzz.harnesses.flask",
    "starlette_subclass": "fuzz.harnesses.starlette_subclass",
    "dynamic": "fuzz.harnesses.dynamic",
    "aiohttp": "fuzz.harnesses.aiohttp",
}
