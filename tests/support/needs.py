"""Markers for what a test needs, found from what it uses rather than written on every test.

- `server`: it, a fixture it uses or a helper they call starts a `GazoServer` (a real `gazo serve`);
- `postgres`: likewise makes a PostgreSQL database (`temporary_pg_database`), or takes the PostgreSQL
  side of `database` (that parameter carries the mark itself);
- `ray`: it or one of its fixtures is defined in a module that imports `ray`;
- `browser`: it uses pytest-playwright's `browser` (through `page`, `context`, ...);
- `node`: it runs a script of tests/node (`run_node`), which needs `node` and that folder's packages.

"Uses" follows fixtures (also one a parametrised fixture fetches by its parameter's name, as
`request.getfixturevalue(request.param)`) and, through the global names their code refers to, the
functions and classes of tests/ they call. Annotations are not code (`from __future__ import annotations`),
so a helper that only takes a `GazoServer` does not count as starting one.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest

from tests.store.databases import temporary_pg_database
from tests.support.node import run_node
from tests.support.server import GazoServer

#: marker -> what a test's code, or code it reaches, refers to when it needs that
REFERS_TO: dict[str, tuple[object, ...]] = {
    "server": (GazoServer,),
    "postgres": (temporary_pg_database,),
    "node": (run_node,),
}


def mark_needs(items: Iterable[pytest.Item]) -> None:
    scans: dict[int, tuple[frozenset[str], list[Any]]] = {}
    for item in items:
        fixtures = _fixtures_of(item)
        roots = [fixture.func for definitions in fixtures.values() for fixture in definitions]
        needs = _reached_needs([getattr(item, "function", None), *roots], scans)
        if any(_from_playwright(fixture.func) for fixture in fixtures.get("browser", ())):
            needs.add("browser")  # the browser pytest-playwright launches (its autouse fixtures do not count)
        for need in sorted(needs - {mark.name for mark in item.iter_markers()}):
            item.add_marker(need)


def _fixtures_of(item: pytest.Item) -> dict[str, Sequence[Any]]:
    """The definitions of every fixture the test uses, directly or not, by name."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return {}
    definitions = dict(info.name2fixturedefs)
    callspec = getattr(item, "callspec", None)
    manager = item.session._fixturemanager
    for value in callspec.params.values() if callspec else ():
        if isinstance(value, str) and value not in definitions:
            found = manager.getfixturedefs(value, item)  # a fixture of tests/ named by a parameter
            if found and any(_in_tests(fixture.func) for fixture in found):
                _add_closure(definitions, value, found, item)
    return definitions


def _add_closure(
    definitions: dict[str, Sequence[Any]], name: str, found: Sequence[Any], item: pytest.Item
) -> None:
    """`name`'s definitions, and those of every fixture they use that `definitions` lacks."""
    manager = item.session._fixturemanager
    pending: list[tuple[str, Sequence[Any] | None]] = [(name, found)]
    while pending:
        name, found = pending.pop()
        if name in definitions or not found:
            continue
        definitions[name] = found
        pending += [(arg, manager.getfixturedefs(arg, item)) for fixture in found for arg in fixture.argnames]


def _in_tests(function: Any) -> bool:
    return getattr(function, "__module__", "").startswith("tests.")


def _from_playwright(function: Any) -> bool:
    return getattr(function, "__module__", "").startswith("pytest_playwright")


def _reached_needs(roots: list[Any], scans: dict[int, tuple[frozenset[str], list[Any]]]) -> set[str]:
    """The needs of `roots` and of every function of tests/ their code reaches."""
    needs: set[str] = set()
    pending, seen = [root for root in roots if root is not None], set()
    while pending:
        function = inspect.unwrap(pending.pop())
        if id(function) in seen or not hasattr(function, "__code__"):
            continue
        seen.add(id(function))
        if id(function) not in scans:
            scans[id(function)] = _scan(function)
        direct, callees = scans[id(function)]
        needs |= direct
        pending += callees
    return needs


def _scan(function: Any) -> tuple[frozenset[str], list[Any]]:
    """What `function`'s own code needs, and the functions of tests/ it refers to."""
    namespace = function.__globals__
    needs = {"ray"} if any(_is_ray(value) for value in namespace.values()) else set()
    callees: list[Any] = []
    for name in _names(function.__code__):
        target = namespace.get(name)
        if target is None:
            continue
        needs |= {marker for marker, objects in REFERS_TO.items() if any(target is o for o in objects)}
        callees += _test_code_in(target)
    return frozenset(needs), callees


def _names(code: types.CodeType) -> Iterator[str]:
    """Global and attribute names `code` and the code nested in it (lambdas, comprehensions) refer to."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _names(constant)


def _test_code_in(target: object) -> Iterator[Any]:
    """The functions of tests/ that `target` is or holds (a class's methods); nothing else is followed."""
    if not _in_tests(target):
        return
    if inspect.isfunction(inspect.unwrap(target)):
        yield target
    elif inspect.isclass(target):
        yield from (member for member in vars(target).values() if inspect.isfunction(member))


def _is_ray(value: object) -> bool:
    return isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "ray"
