"""The public surface: every public module declares `__all__`, and the API reference documents it.

A public module is one of `corsfast`'s modules whose dotted name has no part starting with
"_". Its `__all__` is the surface: every name in it exists, none is an imported module, and
`from module import *` gives exactly those names. docs/reference/api.md documents every one
of them, so the reference cannot fall behind the code.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import corsfast
import corsfast.starlette
import corsfast.wsgi

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "api.md"


def public_module_names() -> list[str]:
    """Return the dotted names of corsfast's public modules, the package itself first."""
    names = ["corsfast"]
    for info in pkgutil.walk_packages(corsfast.__path__, "corsfast.", onerror=lambda name: None):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


PUBLIC_MODULES = public_module_names()


def load(name: str) -> ModuleType:
    """Return the module, skipping when a framework it drives is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in ("django", "flask", "kui", "baize", "starlette"):
            pytest.skip(f"{name} needs {error.name}")
        raise


def test_the_walk_finds_every_public_package() -> None:
    for name in (
        "corsfast.asgi",
        "corsfast.check",
        "corsfast.bench.suite",
        "corsfast.django.defaults",
        "corsfast.flask.core",
        "corsfast.kui.wsgi",
        "corsfast.cli",
    ):
        assert name in PUBLIC_MODULES
    assert not [name for name in PUBLIC_MODULES if "._" in name]


MIRRORS_WITHOUT_ALL = {
    "corsfast.flask.core": "flask_cors.core",
    "corsfast.flask.decorator": "flask_cors.decorator",
    "corsfast.flask.extension": "flask_cors.extension",
}
"""Drop-in modules that mirror a module of the package they replace which declares no
`__all__`: their star import gives what the original's gives (modules such as `re` included:
flask-cors' own tests star-import `flask_cors.core` and use `re`), so they declare none either."""


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_module_declares_its_surface(name: str) -> None:
    module = load(name)
    if name in MIRRORS_WITHOUT_ALL:
        original = pytest.importorskip(MIRRORS_WITHOUT_ALL[name])
        assert not hasattr(original, "__all__") and not hasattr(module, "__all__")
        return
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, (list, tuple)), f"{name} has no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    for attribute in exported:
        assert hasattr(module, attribute), f"{name}.__all__ names {attribute!r}, which it lacks"
        assert not isinstance(getattr(module, attribute), ModuleType), f"{name}.__all__ exports module {attribute!r}"
    namespace: dict[str, Any] = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(exported)


# -- the API page documents every exported name --------------------------------------------------

DIRECTIVE = re.compile(r"^::: ([\w.]+)\n((?:[ \t]+.*\n|\n(?=[ \t]))*)", re.M)


def documented_paths() -> set[str]:
    """Return the dotted paths the API page documents.

    `::: module.name` documents that object; a `::: module` block with a `members: [...]` list,
    those members; one with `filters: public`, the module's `__all__`. A heading holding a
    dotted path in backticks (`` ### `corsfast.__version__` ``) documents that path in prose.
    """
    text = API_PAGE.read_text()
    paths = set(re.findall(r"^#+ `([\w.]+)`$", text, re.M))
    for match in DIRECTIVE.finditer(text):
        target, options = match.group(1), match.group(2)
        paths.add(target)
        members = re.search(r"^\s+members: \[(.*)\]", options, re.M)
        if members:
            paths.update(f"{target}.{member.strip()}" for member in members.group(1).split(",") if member.strip())
        elif re.search(r"^\s+filters: public\b", options, re.M):
            paths.update(f"{target}.{member}" for member in exported_names(load(target)))
    return paths


def resolve(path: str) -> Any:
    """Return the object at a dotted path, as the docs build reads it: the longest prefix that
    is a module (a submodule wins over a package attribute of the same name, as the docs
    build has it for `corsfast.bench.measure`), then attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(path)


def exported_names(module: ModuleType) -> list[str]:
    """Return the module's `__all__`; for a mirror without one, the public functions and
    classes the module itself defines (what the docs' `filters: public` renders)."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__ and callable(obj)
    ]


def test_api_page_documents_real_objects() -> None:
    for path in documented_paths():
        resolve(path)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_api_page_documents_every_exported_name(name: str) -> None:
    """A name counts as documented under its own path, or, re-exported from another module, as
    the same object documented under the same name in that module."""
    module = load(name)
    paths = documented_paths()
    missing = []
    for attribute in exported_names(module):
        if f"{name}.{attribute}" in paths:
            continue
        obj = getattr(module, attribute)
        if any(path.rpartition(".")[2] == attribute and resolve(path) is obj for path in paths):
            continue
        missing.append(attribute)
    assert not missing, f"docs/reference/api.md does not document {name}: {missing}"


def test_signatures_show_default_values_not_constant_names() -> None:
    """The docs' griffe extension replaces a default written as a name by its value."""
    griffe = pytest.importorskip("griffe")
    extension = str(API_PAGE.parents[1] / "hooks" / "private_parameters.py") + ":HidePrivateParameters"
    package = griffe.load(
        "corsfast",
        search_paths=[str(Path(corsfast.__file__).parents[1])],
        extensions=griffe.load_extensions(extension),
    )
    init = package["asgi"]["CORSMiddleware"]["__init__"]
    defaults = {parameter.name: str(parameter.default) for parameter in init.parameters}
    assert defaults["cache_size"] == "4096" and defaults["max_origin_length"] == "2048"
    assert "_engine" not in defaults
    named = re.compile(r"[A-Z_][A-Z0-9_]+")
    for module_name in PUBLIC_MODULES:
        module = package[module_name.removeprefix("corsfast.")] if module_name != "corsfast" else package
        for member in module.members.values():
            if member.is_alias:
                continue
            functions = [member] if member.is_function else []
            if member.is_class:
                functions += [m for m in member.members.values() if not m.is_alias and m.is_function]
            for function in functions:
                for parameter in function.parameters:
                    assert not named.fullmatch(str(parameter.default)), (function.path, parameter.name)


def test_cache_info_is_the_public_named_tuple_on_every_engine(engine: ModuleType) -> None:
    """Both engines return `corsfast.CacheInfo` itself, so code may check its type or fields."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    for middleware in (
        corsfast.CORSMiddleware(app, allow_origins=["https://a.example"], _engine=engine),
        corsfast.starlette.CORSMiddleware(app, allow_origins=["https://a.example"], _engine=engine),
        corsfast.wsgi.CORSMiddleware(lambda environ, start: [b""], allow_origins=["https://a.example"], _engine=engine),
    ):
        info = middleware.cache_info()
        assert type(info) is corsfast.CacheInfo
        assert info._fields == ("hits", "misses", "maxsize", "currsize")
        assert info == (0, 0, 4096, 0)
