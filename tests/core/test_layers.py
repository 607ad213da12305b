"""The import structure of hsearch/, read with ``ast`` (nothing is imported).

Layers, top to bottom; a module may import its own package and any lower layer:

    cli -> compare -> workflows -> {train, results, problems, hardware}
        -> {search, data, models} -> configs -> errors

``__main__.py`` (the ``python -m hsearch`` entry) sits above cli; ``hsearch/__init__.py`` (only
``__version__``) below errors.
Same-level packages: an import between two packages of one level is allowed only when it is in
SAME_LEVEL (each with why it is sound; the pairs must not form a circle). Every import counts,
at the top of a module or inside a function: a function-level import hides a circle from
Python, not from the design. An edge goes to the module named (``from hsearch.search import
factory`` -> hsearch.search.factory when that is a module, else hsearch.search), not to the
parent packages Python also runs.

KNOWN_VIOLATIONS lists circles and upward imports tolerated for the time being (none since issue
11's refactor); the test fails when a new one appears and when a listed one is gone.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "hsearch"

LAYERS = (("__main__",), ("cli",), ("compare",), ("workflows",),
          ("train", "results", "problems", "hardware"), ("search", "data", "models"),
          ("configs",), ("errors",), ("hsearch",))

#: (importer package, imported package) on one level, and why the import is sound
SAME_LEVEL = {
    ("problems", "results"): "the tabular problems judge feasibility by the rule recorded runs "
                             "are judged by (results.feasibility): one rule, not two",
}

#: circles (the modules of each) and upward imports (importer, imported) tolerated for now: none
#: since issue 11's refactor (a new one fails the test; so does a listed one that is gone)
KNOWN_VIOLATIONS: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Import:
    """One import of an hsearch module: who, what, where, and the comment that goes with it."""

    importer: str
    imported: str
    line: int
    in_function: bool
    comment: str


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _comments(source: str) -> dict[int, str]:
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("# ").strip()
    return out


def _resolve(name: str, modules) -> str | None:
    """The longest prefix of dotted ``name`` that is a module of hsearch."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _import_nodes(node, in_function):
    """Every import statement under ``node`` and whether a function (or lambda) holds it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        inner = in_function or isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield from _import_nodes(child, inner)


def _imports_of(module: str, path: Path, modules) -> list[Import]:
    source = path.read_text()
    tree = ast.parse(source)
    comments = _comments(source)
    lines = source.splitlines()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node, in_function in _import_nodes(tree, False):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names]
        # the comment on the import's line, else on the comment-only line above it
        comment = comments.get(node.lineno, "")
        above = node.lineno - 1
        if not comment and above >= 1 and lines[above - 1].strip().startswith("#"):
            comment = comments.get(above, "")
        for name in names:
            target = _resolve(name, modules)
            if target and target != module:
                found.append(Import(module, target, node.lineno, in_function, comment))
    return found


@functools.lru_cache(maxsize=1)
def _all_imports() -> tuple[Import, ...]:
    """Every import of an hsearch module by a module of hsearch/ (one per name imported)."""
    modules = _modules()
    return tuple(i for m, p in modules.items() for i in _imports_of(m, p, modules))


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "hsearch"


def _level(module: str) -> int:
    package = _package(module)
    return next(k for k, names in enumerate(LAYERS) if package in names)


def _circles(imports) -> set[tuple[str, ...]]:
    """Each pair of modules that import each other, then each longer circle left when the
    edges of those pairs are dropped (a strongly connected component, Tarjan's algorithm)."""
    edges = {(i.importer, i.imported) for i in imports}
    pairs = {tuple(sorted(e)) for e in edges if e[::-1] in edges}
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(b, set())
        graph.setdefault(a, set())
        if tuple(sorted((a, b))) not in pairs:
            graph[a].add(b)
    index, low, stack, on_stack, out = {}, {}, [], set(), set()

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.add(tuple(sorted(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out | pairs


def _violations(imports) -> set[tuple[str, ...]]:
    found = {("circle", *c) for c in _circles(imports)}
    found |= {("upward", i.importer, i.imported) for i in imports
              if _level(i.imported) < _level(i.importer)}
    return found


def test_every_module_is_in_a_layer():
    for module in _modules():
        _level(module)  # StopIteration names a package missing from LAYERS


def test_no_new_circle_or_upward_import():
    found = _violations(_all_imports())
    new = sorted(found - KNOWN_VIOLATIONS)
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not new, f"new import circle(s) / upward import(s): {new}"
    assert not gone, f"fixed, remove it from KNOWN_VIOLATIONS: {gone}"


def test_same_level_imports_are_the_sound_ones():
    pairs = {(_package(i.importer), _package(i.imported)) for i in _all_imports()
             if _level(i.importer) == _level(i.imported)
             and _package(i.importer) != _package(i.imported)}
    assert pairs <= set(SAME_LEVEL), f"same-level imports not in SAME_LEVEL: {pairs - set(SAME_LEVEL)}"
    # allowed pairs may not point both ways (a circle between two packages of one level)
    assert not {(a, b) for a, b in pairs if (b, a) in pairs}


def test_parser_on_a_known_module(tmp_path):
    path = tmp_path / "fake.py"
    path.write_text(
        "import os\n"
        "from hsearch.search import factory, NomadSearcher\n"
        "from . import runner  # same package\n"
        "def f():\n"
        "    # keeps ray out of --help\n"
        "    from ..train import trainer\n"
        "    return lambda: __import__('x')\n"
        "g = lambda: None\n")
    modules = {"hsearch", "hsearch.search", "hsearch.search.factory", "hsearch.workflows",
               "hsearch.workflows.runner", "hsearch.workflows.fake", "hsearch.train",
               "hsearch.train.trainer"}
    got = {(i.imported, i.line, i.in_function, i.comment)
           for i in _imports_of("hsearch.workflows.fake", path, modules)}
    assert got == {("hsearch.search.factory", 2, False, ""), ("hsearch.search", 2, False, ""),
                   ("hsearch.workflows.runner", 3, False, "same package"),
                   ("hsearch.train.trainer", 6, True, "keeps ray out of --help")}


def test_report_function_level_imports():
    """Printed, not asserted (run with -s): each function-level import of an hsearch module
    and the comment that says why it is there."""
    rows = sorted({i for i in _all_imports() if i.in_function},
                  key=lambda i: (i.importer, i.line, i.imported))
    if True:
        lines = {(i.importer, i.line) for i in rows}
        said = {(i.importer, i.line) for i in rows if i.comment}
        print(f"\n{len(lines)} function-level import statements of hsearch modules "
              f"({len(said)} with a comment), {len(rows)} modules named:")
        for i in rows:
            note = f"  # {i.comment}" if i.comment else ""
            print(f"  {i.importer}:{i.line} -> {i.imported}{note}")
