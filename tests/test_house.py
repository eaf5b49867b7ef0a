"""The house rules that keep each concern in one home: no import cycles (those hidden inside
functions included), one table of transport fault kinds that every back-end follows, one
definition of the fake's URLs that the routes and the behaviour both use; and functions short
and shallow enough to read (50 lines, 4 levels of nesting) unless they say why not."""

from __future__ import annotations

import ast
import importlib
import textwrap
from pathlib import Path
from typing import NamedTuple

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


# --- Function size and nesting (issue 18): ruff has no stable rule for nesting depth ---------------

ROOT = PACKAGE.parent
MAX_BODY_LINES = 50
MAX_NESTING = 4
_BLOCKS = tuple(
    getattr(ast, name) for name in ("If", "For", "AsyncFor", "While", "With", "AsyncWith", "Try", "TryStar", "Match")
    if hasattr(ast, name))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _is_elif(parent: ast.AST, child: ast.stmt) -> bool:
    """``elif`` is an ``If`` alone in its parent's ``orelse`` at the parent's column: one level, not two."""
    return (isinstance(parent, ast.If) and isinstance(child, ast.If) and parent.orelse == [child]
            and child.col_offset == parent.col_offset)


def _nesting(node: ast.AST, depth: int = 0) -> int:
    """The deepest control-flow block inside ``node``; a nested function or class is measured on its own."""
    deepest = depth
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPES):
            continue
        inner = depth + 1 if isinstance(child, _BLOCKS) and not _is_elif(node, child) else depth
        deepest = max(deepest, _nesting(child, inner))
    return deepest


def _body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The lines of the body after the docstring: a docstring that says why is not length to cut."""
    body = function.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return function.end_lineno - body[0].lineno + 1


def _marked(lines: list[str], function: ast.FunctionDef | ast.AsyncFunctionDef, tag: str) -> bool:
    """``# long: <reason>`` / ``# deep: <reason>`` on the ``def`` line or the line above it."""
    here = function.lineno - 1
    return any(f"# {tag}:" in lines[index] for index in (here, here - 1) if index >= 0)


class Offender(NamedTuple):
    path: str
    line: int
    qualname: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.qualname} ({self.what})"


def size_offenders(source: str, path: str) -> list[Offender]:
    """Every function of ``source`` longer than MAX_BODY_LINES or nested deeper than MAX_NESTING,
    unless its ``def`` carries the comment that says why."""
    lines = source.splitlines()
    found: list[Offender] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = f"{prefix}{child.name}"
                length, depth = _body_lines(child), _nesting(child)
                if length > MAX_BODY_LINES and not _marked(lines, child, "long"):
                    found.append(Offender(path, child.lineno, qualname, f"{length} lines > {MAX_BODY_LINES}"))
                if depth > MAX_NESTING and not _marked(lines, child, "deep"):
                    found.append(Offender(path, child.lineno, qualname, f"nesting {depth} > {MAX_NESTING}"))
                visit(child, f"{qualname}.")
            else:
                visit(child, f"{prefix}{child.name}." if isinstance(child, ast.ClassDef) else prefix)

    visit(ast.parse(source), "")
    return found


def test_no_function_is_longer_than_50_lines_or_nested_deeper_than_4_without_a_reason():
    """A long or deep function hides its steps; one that must stay so says why on its ``def`` line."""
    offenders = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "contracts").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        offenders += [str(offender) for offender in size_offenders(path.read_text(encoding="utf-8"), name)]
    assert offenders == [], "\n".join(offenders)


def _function(name: str, depth: int, length: int, mark: str = "", indent: str = "") -> str:
    """A synthetic function ``depth`` blocks deep with ``length`` body lines."""
    body = [f"{'    ' * (level + 1)}if x:" for level in range(depth)]
    body += [f"{'    ' * (depth + 1)}y = {index}" for index in range(length - depth)]
    return "".join(f"{indent}{line}\n" for line in [f"def {name}(x):{mark}", *body])


def test_the_size_rule_finds_a_long_function_and_a_deep_one_and_lets_a_marked_one_be():
    source = "".join([
        _function("fits", depth=4, length=50),
        _function("long", depth=1, length=51),
        _function("deep", depth=5, length=6),
        _function("marked_long", depth=1, length=80, mark="  # long: a table read top to bottom"),
        _function("marked_deep", depth=6, length=7, mark="  # deep: the protocol's own nesting"),
        "class Holder:\n    # deep: a reason on the line above\n",
        _function("method", depth=5, length=6, indent="    "),
        "class Other:\n",
        _function("method", depth=5, length=6, indent="    "),
    ])
    assert [(o.line, o.qualname, o.what) for o in size_offenders(source, "synthetic.py")] == [
        (52, "long", "51 lines > 50"), (104, "deep", "nesting 5 > 4"), (210, "Other.method", "nesting 5 > 4")]


def test_elif_chains_and_nested_functions_add_no_nesting_but_else_if_does():
    source = textwrap.dedent("""\
        def chain(x):
            for a in x:
                for b in a:
                    for c in b:
                        if c == 1:
                            pass
                        elif c == 2:
                            pass
                        elif c == 3:
                            pass
            def inner():
                if x:
                    if x:
                        pass
            with x:
                try:
                    while x:
                        pass
                finally:
                    match x:
                        case 1:
                            pass
        def else_if(x):
            with x:
                try:
                    while x:
                        if x:
                            pass
                        else:
                            if x:
                                pass
                except OSError:
                    pass
        """)
    assert [(o.qualname, o.what) for o in size_offenders(source, "synthetic.py")] == [("else_if", "nesting 5 > 4")]
