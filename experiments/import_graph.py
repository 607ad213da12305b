"""Print hsearch's package-level import graph as a Mermaid block (for the README's Layout).

    python experiments/import_graph.py

Reads hsearch/ with ``ast`` through the parser of tests/core/test_layers.py (the test that holds
the layer rules), so the picture and the test see the same imports: every import, top-level or
inside a function. Packages are drawn top to bottom by layer; an edge is drawn once per pair of
packages; an upward edge is dotted and labelled, as is each package in an import circle.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TEST = Path(__file__).resolve().parents[1] / "tests" / "core" / "test_layers.py"


def _layers_module():
    spec = importlib.util.spec_from_file_location("test_layers", TEST)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def mermaid() -> str:
    """The Mermaid block: one subgraph per layer, one edge per importing package pair."""
    layers = _layers_module()
    imports = layers._all_imports()
    edges = sorted({(layers._package(i.importer), layers._package(i.imported)) for i in imports
                    if layers._package(i.importer) != layers._package(i.imported)})
    circled = {m for v in layers._violations(imports) if v[0] == "circle" for m in v[1:]}
    lines = ["```mermaid", "flowchart TD"]
    for k, names in enumerate(layers.LAYERS):
        lines.append(f"  subgraph L{k}[\" \"]")
        lines += [f"    {name}" for name in names]
        lines.append("  end")
    level = {name: k for k, names in enumerate(layers.LAYERS) for name in names}
    for a, b in edges:
        up = level[b] < level[a]
        lines.append(f"  {a} -. upward .-> {b}" if up else f"  {a} --> {b}")
    packages = sorted({layers._package(m) for m in circled})
    if packages:
        lines.append(f"  %% import circles inside: {', '.join(packages)}")
    lines.append("```")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
