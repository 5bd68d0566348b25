"""The architecture holds: bot and service never import each other, nothing installed
imports the test machinery, and modules stay small."""

from __future__ import annotations

import ast
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "migrator"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize(("package", "forbidden"), [
    ("migrator.bot", "migrator.service"),
    ("migrator.service", "migrator.bot"),
])
def test_bot_and_service_never_import_each_other(package: str, forbidden: str) -> None:
    crossing = {module: sorted(i for i in imported if i.startswith(forbidden))
                for module, imported in MODULES.items()
                if module.startswith(package)}
    assert {m: i for m, i in crossing.items() if i} == {}


@pytest.mark.parametrize(("package", "forbidden"), [
    ("migrator.bot", "migrator.service"),
    ("migrator.service", "migrator.bot"),
])
def test_importing_one_product_loads_nothing_of_the_other(package: str, forbidden: str) -> None:
    code = (f"import sys, {package}, importlib, pkgutil\n"
            f"for info in pkgutil.walk_packages({package}.__path__, '{package}.'):\n"
            "    importlib.import_module(info.name)\n"
            f"print(sorted(m for m in sys.modules if m.startswith('{forbidden}')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def test_the_shared_packages_import_neither_product() -> None:
    shared = ("migrator.core", "migrator.forges", "migrator.registries", "migrator.channels",
              "migrator.feedstock", "migrator.rerender")
    crossing = {module: sorted(i for i in imported
                               if i.startswith(("migrator.bot", "migrator.service")))
                for module, imported in MODULES.items() if module.startswith(shared)}
    assert {m: i for m, i in crossing.items() if i} == {}


def test_nothing_installed_imports_the_test_machinery() -> None:
    leaking = {module: sorted(i for i in imported if i.split(".")[0] in ("testing", "tests"))
               for module, imported in MODULES.items()}
    assert {m: i for m, i in leaking.items() if i} == {}


def test_no_corpus_seeder_or_package_builder_in_the_package() -> None:
    files = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_file()
             and "__pycache__" not in p.parts}
    assert not [f for f in files if "corpus" in f or "seed" in f or "build_package" in f]


def test_modules_stay_small() -> None:
    sizes = {_module(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {m: n for m, n in sizes.items() if n > 300} == {}
    assert statistics.median(sizes.values()) <= 80


def test_module_names_do_not_repeat() -> None:
    leaves: dict[str, list[str]] = {}
    for module in MODULES:
        leaf = module.rsplit(".", 1)[-1]
        if PACKAGE.joinpath(*module.split(".")[1:]).is_dir():
            continue  # a package's __init__
        leaves.setdefault(leaf, []).append(module)
    assert {leaf: mods for leaf, mods in leaves.items() if len(mods) > 1} == {}
