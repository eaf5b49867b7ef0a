"""The house rules that keep each concern in one home: no import cycles (those hidden inside
functions included), one table of transport fault kinds that every back-end follows, one
definition of the fake's URLs that the routes and the behaviour both use."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from mockserver.answers.urls import cover_url, own_image, result_url
from mockserver.faults import kinds
from mockserver.spec import load_spec

PACKAGE = Path(__file__).resolve().parent.parent / "mockserver"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The mockserver modules ``path`` imports at run time, wherever the import statement sits
    (inside a function too); ``if TYPE_CHECKING:`` blocks excluded."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            for alias in node.names:
                target = f"{source}.{alias.name}"
                found.add(target if target in modules else source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {module for module in found if module in modules and module != name}


def test_no_module_of_mockserver_imports_itself_back():
    """A cycle, even through an import inside a function, means two modules share one job."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph = {_module_name(path): _imports(path, modules) for path in paths}
    cycles = []

    def walk(node: str, trail: list[str], done: set[str]) -> None:
        for target in sorted(graph[node]):
            if target in trail:
                cycles.append(" -> ".join([*trail[trail.index(target):], target]))
            elif target not in done:
                walk(target, [*trail, target], done)
        done.add(node)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            walk(module, [module], done)
    assert cycles == []


def test_the_kind_table_names_exactly_the_kinds_a_rule_may_ask_for():
    schema = load_spec().schema("fault-rule.json")["properties"]["transport"]
    assert list(kinds.TRANSPORT_FAULTS) == list(schema["enum"])


@pytest.mark.parametrize("backend", ["on_socket", "on_responses", "on_httpx"])
def test_every_backend_acts_out_every_kind_of_the_table(backend):
    module = importlib.import_module(f"mockserver.faults.{backend}")
    assert set(module.ACTS) == {kind.act for kind in kinds.KINDS.values()}


def test_a_backend_that_misses_an_act_is_refused_when_imported():
    with pytest.raises(RuntimeError, match="missing acts"):
        kinds.check_acts("partial", {"page": print})


@pytest.mark.parametrize("model_num", ["mod001", "a/b", "line\nbreak", "100%", "é ü", "x.png"])
def test_a_cover_url_the_fake_gives_is_one_it_recognises_as_its_own(model_num):
    url = cover_url("http://127.0.0.1:8080", model_num)
    assert own_image(url, None) == ("cover_image", {"model_num": model_num})


def test_a_result_url_the_fake_gives_is_one_it_recognises_as_its_own():
    task_id = "713f0cb3-f22f-490b-b3b7-3684f73bf2d6"
    endpoint, args = own_image(result_url("http://localhost:1", task_id, 0, 3, "jpg"), None)
    assert (endpoint, str(args["task_id"]), args["item"], args["index"], args["ext"]) == (
        "result_image", task_id, 0, 3, "jpg")


def test_urls_of_other_hosts_or_paths_are_not_the_fakes():
    assert own_image("http://example.com/__bgmock/covers/mod001.png", None) is None
    assert own_image("http://127.0.0.1:1/elsewhere/covers/mod001.png", None) is None
    assert own_image("http://127.0.0.1:1/__bgmock/nothing-here.png", None) == ("", {})
    assert own_image("https://fake.test/__bgmock/covers/m.png", "https://fake.test")[0] == "cover_image"
