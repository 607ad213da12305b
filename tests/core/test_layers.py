"""The import structure of hsearch/, read with ``ast`` (nothing is imported).

Layers, top to bottom; a module may import its own package and any lower layer:

    cli -> compare -> workflows -> {train, results, problems, hardware}
        -> {search, data, models} -> configs -> checks -> {errors, files}

``__main__.py`` (the ``python -m hsearch`` entry) sits above cli; ``hsearch/__init__.py`` (only
``__version__``) below errors.
Same-level packages: an import between two packages of one level is allowed only when it is in
SAME_LEVEL (each with why it is sound; the pairs must not form a circle). Every import counts,
at the top of a module or inside a function: a function-level import hides a circle from
Python, not from the design. An edge goes to the module named (``from hsearch.search import
factory`` -> hsearch.search.factory when that is a module, else hsearch.search), not to the
parent packages Python also runs.

Imports made from strings count too: a string constant outside a docstring that is a whole
dotted name of hsearch, with or without a ``:name`` (the workflow table's
``"hsearch.workflows.nas:run_nas"``, the values of a lazy ``__getattr__`` export map, a module
list that ``importlib.import_module`` walks) is an import of that module. For that to see every
dynamic import, ``import_module`` and ``__import__`` may only be handed a name, never a name
built from pieces (an f-string, ``+`` or ``%``, which no scan can read).

KNOWN_VIOLATIONS lists circles and upward imports tolerated for the time being (none since issue
11's refactor; none either once issue 21 made the scan read strings: the workflows no longer
write their own summary, whoever runs one does, hsearch.workflows.launch); the test fails when a
new one appears and when a listed one is gone. A floor on the modules found per package
(MIN_MODULES) keeps the test from passing on a scan that read nothing.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "hsearch"

LAYERS = (("__main__",), ("cli",), ("compare",), ("workflows",),
          ("train", "results", "problems", "hardware"), ("search", "data", "models"),
          ("configs",), ("checks",), ("errors", "files"), ("hsearch",))

#: (importer package, imported package) on one level, and why the import is sound
SAME_LEVEL = {
    ("problems", "results"): "the tabular problems judge feasibility by the rule recorded runs "
                             "are judged by (results.feasibility): one rule, not two",
}

#: circles (the modules of each) and upward imports (importer, imported) tolerated for now: none
#: since issue 11's refactor and issue 21's string imports (a new one fails the test; so does a
#: listed one that is gone)
KNOWN_VIOLATIONS: set[tuple[str, str, str]] = set()


#: a string naming an hsearch module, alone or with one of its objects: "hsearch.x.y[:name]"
NAME_STRING = re.compile(r"(hsearch(?:\.\w+)+)(?::[\w.]+)?")

#: the fewest modules a package of LAYERS holds (a floor: a test reading no files passes nothing)
MIN_MODULES = {"__main__": 1, "cli": 5, "compare": 10, "workflows": 15, "train": 10,
               "results": 5, "problems": 3, "hardware": 2, "search": 5, "data": 3, "models": 10,
               "configs": 1, "checks": 1, "errors": 1, "files": 1, "hsearch": 1}


@dataclass(frozen=True)
class Import:
    """One import of an hsearch module: who, what, where, the comment that goes with it, and
    whether it is a string the module imports by name (``"module:name"``, an export map)."""

    importer: str
    imported: str
    line: int
    in_function: bool
    comment: str
    by_name: bool = False


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


def _docstrings(tree) -> set[int]:
    """The ids of the docstring nodes of ``tree`` (module, class and function docstrings)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def _import_nodes(node, in_function, docstrings=frozenset()):
    """Every import statement and every string constant (docstrings aside) under ``node``, and
    whether a function (or lambda) holds it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        elif isinstance(child, ast.Constant) and isinstance(child.value, str) \
                and id(child) not in docstrings:
            yield child, in_function
        inner = in_function or isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield from _import_nodes(child, inner, docstrings)


def _pieced_dynamic_imports(tree) -> list[int]:
    """Lines of ``import_module(...)`` / ``__import__(...)`` calls handed a name built from
    pieces (f-string, ``+``, ``%``): imports the string scan cannot see."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") \
                    and isinstance(node.args[0], (ast.JoinedStr, ast.BinOp)):
                lines.append(node.lineno)
    return lines


def _imports_of(module: str, path: Path, modules) -> list[Import]:
    source = path.read_text()
    tree = ast.parse(source)
    comments = _comments(source)
    lines = source.splitlines()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node, in_function in _import_nodes(tree, False, _docstrings(tree)):
        by_name = isinstance(node, ast.Constant)
        if by_name:
            match = NAME_STRING.fullmatch(node.value)
            if not match:
                continue
            names = [match.group(1)]
        elif isinstance(node, ast.Import):
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
            if by_name and target != name:
                continue  # a string import names its module whole ("hsearch.x.y[:name]")
            if target and target != module:
                found.append(Import(module, target, node.lineno, in_function, comment, by_name))
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


def test_the_scan_found_the_modules_and_their_imports():
    """A floor: every package of LAYERS has its modules, and the imports read include the ones
    made from strings (the workflow table's rows, the lazy export maps)."""
    counts: dict[str, int] = {}
    for module in _modules():
        counts[_package(module)] = counts.get(_package(module), 0) + 1
    packages = {p for level in LAYERS for p in level}
    assert set(MIN_MODULES) == packages
    short = {p: counts.get(p, 0) for p in packages if counts.get(p, 0) < MIN_MODULES[p]}
    assert not short, f"`modules >= MIN_MODULES` must hold, but got {short}"
    imports = _all_imports()
    assert len(imports) > 300
    by_name = {(i.importer, i.imported) for i in imports if i.by_name}
    assert ("hsearch.workflows.registry", "hsearch.workflows.nas") in by_name
    assert ("hsearch.workflows", "hsearch.workflows.runner") in by_name  # its __getattr__ map
    assert ("hsearch.compare", "hsearch.compare.run") in by_name
    assert ("hsearch.data", "hsearch.data.sources") in by_name


def test_dynamic_imports_name_whole_modules():
    pieced = {m: lines for m, p in _modules().items()
              if (lines := _pieced_dynamic_imports(ast.parse(p.read_text())))}
    assert not pieced, f"import_module/__import__ of a name built from pieces: {pieced}"


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
        '"""hsearch.train.trainer: a docstring is no import"""\n'
        "import os\n"
        "from hsearch.search import factory, NomadSearcher\n"
        "from . import runner  # same package\n"
        "def f():\n"
        "    # keeps ray out of --help\n"
        "    from ..train import trainer\n"
        "    return lambda: __import__('x')\n"
        "g = lambda: None\n"
        "ROWS = {'a': 'hsearch.workflows.runner:run_job', 'b': 'hsearch.search', 'c': 'hsearch',\n"
        "        'd': 'see hsearch.train.trainer', 'e': 'hsearch.nothing.here'}\n"
        "def h():\n"
        "    return 'hsearch.train.trainer:train'\n")
    modules = {"hsearch", "hsearch.search", "hsearch.search.factory", "hsearch.workflows",
               "hsearch.workflows.runner", "hsearch.workflows.fake", "hsearch.train",
               "hsearch.train.trainer"}
    got = {(i.imported, i.line, i.in_function, i.comment, i.by_name)
           for i in _imports_of("hsearch.workflows.fake", path, modules)}
    assert got == {("hsearch.search.factory", 3, False, "", False),
                   ("hsearch.search", 3, False, "", False),
                   ("hsearch.workflows.runner", 4, False, "same package", False),
                   ("hsearch.train.trainer", 7, True, "keeps ray out of --help", False),
                   ("hsearch.workflows.runner", 10, False, "", True),
                   ("hsearch.search", 10, False, "", True),
                   ("hsearch.train.trainer", 13, True, "", True)}


def test_pieced_dynamic_imports_are_found():
    tree = ast.parse("import importlib\n"
                     "importlib.import_module(f'hsearch.cli.{name}')\n"
                     "importlib.import_module('hsearch.cli.' + name)\n"
                     "__import__(NAMES[name])\n"
                     "importlib.import_module('hsearch.cli.train')\n")
    assert _pieced_dynamic_imports(tree) == [2, 3]


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
