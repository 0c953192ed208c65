"""The house stays in data-flow order: no module imports a higher layer, nothing imports in a
circle, and `import siting` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "siting"

# lowest first; a module may import its own layer and those before it
LAYERS = (
    "_core",
    "download",
    "roads",
    "travel",
    "inputs",
    "locate",
    "mobile",
    "report",
    "scenario",
    "service",
    "cli",
)

HEAVY = (
    "numpy",
    "scipy",
    "pandas",
    "geopandas",
    "shapely",
    "folium",
    "highspy",
    "pyvrp",
    "numba",
    "osmium",
    "dask",
    "networkx",
    "osmnx",
    "fastapi",
    "sqlalchemy",
    "uvicorn",
    "alembic",
)


def module_name(path: Path, package: Path) -> str:
    """`siting/travel/odmatrix.py` -> `siting.travel.odmatrix`."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, package: Path) -> set[str]:
    """Every siting module `path` imports, at the top or inside a function."""
    name = module_name(path, package)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "siting")
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            if base.split(".")[0] == "siting":
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    here = name.split(".") if is_package else name.split(".")[:-1]
    base = here[: len(here) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def layer_of(module: str) -> int | None:
    """Index of the module's layer in LAYERS; None for the top-level `siting` facade."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def upward_imports(package: Path) -> list[str]:
    """`a imports b` lines for every import of a higher layer (or of the facade)."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        own = layer_of(name)
        if own is None:
            continue  # the facade may name any layer (lazily)
        for target in sorted(imported_modules(path, package)):
            level = layer_of(target)
            if target == "siting" or (level is not None and level > own):
                wrong.append(f"{name} imports {target}")
    return wrong


def import_cycles(package: Path) -> list[list[str]]:
    """Cycles among siting's modules (each as the list of modules around it)."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph = {
        name: sorted(t for t in imported_modules(path, package) if t in modules and t != name)
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for target in graph[node]:
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return cycles


def test_every_subpackage_is_a_known_layer() -> None:
    """Each folder of siting is one of the layers, so the order below covers all code."""
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)


def test_no_module_imports_a_higher_layer() -> None:
    """A lower layer never imports a higher one (nor the facade `siting` itself)."""
    assert upward_imports(PACKAGE) == []


def test_no_import_cycles() -> None:
    """No module reaches itself through its imports."""
    assert import_cycles(PACKAGE) == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The checks fail on a package where `_core` imports `report`, and on a cycle."""
    package = tmp_path / "siting"
    for layer in ("_core", "report"):
        (package / layer).mkdir(parents=True)
        (package / layer / "__init__.py").write_text('"""Layer."""\n')
    (package / "__init__.py").write_text('"""Facade."""\n')
    (package / "_core" / "names.py").write_text(
        "def slug() -> None:\n    from ..report import maps\n"
    )
    (package / "report" / "maps.py").write_text("from siting._core.names import slug\n")
    assert upward_imports(package) == [
        "siting._core.names imports siting.report",
        "siting._core.names imports siting.report.maps",
    ]
    assert import_cycles(package) == [
        ["siting._core.names", "siting.report.maps", "siting._core.names"]
    ]


@pytest.mark.parametrize(
    "code",
    [
        "import siting",
        "import siting._core.errors",
        "import siting; siting.InputError; siting.__version__",
        "import siting.cli.main as m\ntry: m.main(['--help'])\nexcept SystemExit: pass",
        "import siting.cli.main as m\ntry: m.main(['run', '--help'])\nexcept SystemExit: pass",
        "import siting.cli.main as m\ntry: m.main(['serve', '--help'])\nexcept SystemExit: pass",
    ],
)
def test_light_import(code: str) -> None:
    """`import siting`, its errors and `siting --help` load none of the heavy libraries."""
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)), file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in done.stderr.split()}
    assert sorted(loaded & set(HEAVY)) == []


def test_public_names_resolve() -> None:
    """Every name in `siting.__all__` resolves lazily to the object of its home module."""
    import siting

    for name in siting.__all__:
        assert getattr(siting, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = siting.nothing_here  # type: ignore[attr-defined]
