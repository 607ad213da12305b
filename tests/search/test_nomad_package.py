"""The MADS core (``hsearch.search.nomad``) and the search package's public names import
without Ray."""

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_core_imports_without_ray():
    modules = _modules_after("import hsearch.search.nomad")
    assert "hsearch.search.nomad.asktell" in modules
    assert not {m for m in modules if m == "ray" or m.startswith("ray.")}


def test_the_public_core_names_import_without_ray():
    modules = _modules_after("from hsearch.search import MadsAskTell, MadsSettings, SpaceCodec")
    assert "ray" not in modules


def test_nomad_searcher_is_still_a_public_name():
    modules = _modules_after("from hsearch.search import NomadSearcher")
    assert "hsearch.search.nomad_searcher" in modules and "ray" in modules
