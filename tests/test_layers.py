"""The package's layering: every subpackage imports only from itself and the layers below it, and no two modules
import each other (directly or through a cycle), counting imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "automatch_jax"
# bottom up; modules at the package's top level (errors, registry) are the bottom layer
LAYERS = ("", "ops", "models", "data", "eval", "train", "search", "tracking", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ``automatch_jax`` module ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("automatch_jax"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("automatch_jax"):
            found.add(node.module)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""


GRAPH = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_every_subpackage_is_a_known_layer():
    assert {_layer(m) for m in GRAPH} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m != "automatch_jax"))
def test_imports_point_downward(module):
    rank = LAYERS.index(_layer(module))
    upward = sorted(i for i in GRAPH[module] if i != "automatch_jax" and LAYERS.index(_layer(i)) > rank)
    assert not upward, f"{module} imports higher layers: {upward}"


def test_no_import_cycles():
    known = set(GRAPH)

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    edges = {m: {r for i in imps if (r := resolve(i)) and r != m and r != "automatch_jax"} for m, imps in GRAPH.items()}
    # a package's __init__ re-exporting its modules is not a cycle with them
    edges = {m: {t for t in ts if not (m.startswith(t + ".") and t in known)} for m, ts in edges.items()}
    cycles = []
    for start in edges:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles))[:10])
