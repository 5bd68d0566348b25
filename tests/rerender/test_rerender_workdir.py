"""The builtin renderer in a git working copy: what it writes, removes and leaves alone."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.core.errors import MigratorError
from migrator.rerender.builtin import EXECUTABLE_PATHS, OWNED_PATHS, BuiltinRenderer
from migrator.rerender.ci_templates import TEMPLATE_DIR

META = """\
{% set name = "Demo-Pkg" %}
{% set version = "1.2.0" %}

package:
  name: {{ name|lower }}
  version: {{ version }}

build:
  number: 0
  script: {{ PYTHON }} -m pip install .  # [not win]

about:
  home: https://example.org/demo
  license: MIT
  summary: A demo package

extra:
  recipe-maintainers:
    - bob
    - alice
"""
CONFIG = "conda_forge_output_validation: true\ngithub:\n  branch_name: main\n"
VARIANTS = {
    "linux_64_.yaml": "docker_image:\n- quay.io/condaforge/linux-anvil-x86_64:alma9\n",
    "osx_64_.yaml": "target_platform:\n- osx-64\n",
    "win_64_.yaml": "target_platform:\n- win-64\n",
}
ALL_CI = {
    "README.md", "azure-pipelines.yml", ".azure-pipelines/azure-pipelines-osx.yml",
    ".azure-pipelines/azure-pipelines-win.yml", ".github/workflows/conda-build.yml",
    ".scripts/build_steps.sh", ".scripts/run_docker_build.sh", ".scripts/run_osx_build.sh",
    ".scripts/run_win_build.bat",
}


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def make_feedstock(root: Path, *, config: str = CONFIG) -> Path:
    (root / "recipe").mkdir(parents=True)
    (root / "recipe" / "meta.yaml").write_text(META)
    (root / "conda-forge.yml").write_text(config)
    (root / ".ci_support").mkdir()
    for name, text in VARIANTS.items():
        (root / ".ci_support" / name).write_text(text)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "seed")
    return root


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root but .git: content, mode and modification time."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/") or path.is_dir():
            continue
        info = path.lstat()
        found[rel] = (path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return found


@pytest.fixture
def feedstock(tmp_path: Path) -> Path:
    return make_feedstock(tmp_path / "demo-pkg-feedstock")


def test_render_writes_the_ci_files_and_touches_nothing_else(feedstock: Path) -> None:
    before = snapshot(feedstock)
    BuiltinRenderer().render(feedstock)
    after = snapshot(feedstock)
    assert set(after) - set(before) == ALL_CI
    assert {p: after[p] for p in before} == before  # recipe, config, variants untouched
    assert git(feedstock, "status", "--porcelain", "--untracked-files=all").splitlines() == [
        f"?? {path}" for path in sorted(ALL_CI)
    ]
    readme = (feedstock / "README.md").read_text()
    assert readme.startswith("About demo-pkg-feedstock\n========================\n")
    assert "* [@alice](https://github.com/alice/)\n* [@bob](https://github.com/bob/)\n" in readme


def test_scripts_are_executable(feedstock: Path) -> None:
    BuiltinRenderer().render(feedstock)
    for path in ALL_CI:
        executable = os.access(feedstock / path, os.X_OK)
        assert executable == (path in EXECUTABLE_PATHS), path


def test_rendering_twice_changes_nothing(feedstock: Path) -> None:
    BuiltinRenderer().render(feedstock)
    first = snapshot(feedstock)
    BuiltinRenderer().render(feedstock)
    assert snapshot(feedstock) == first  # same bytes, modes and even mtimes


def test_stale_files_it_owns_are_removed_and_nothing_else(feedstock: Path) -> None:
    BuiltinRenderer().render(feedstock)
    foreign = {
        ".scripts/logging_utils.sh": b"startgroup() { :; }\n",
        ".azure-pipelines/custom-template.yml": b"steps: []\n",
        ".circleci/config.yml": b"version: 2\n",
        "build-locally.py": b"print('hi')\n",
    }
    for path, data in foreign.items():
        _write(path, data)(feedstock)
    (feedstock / ".ci_support" / "osx_64_.yaml").unlink()
    (feedstock / ".ci_support" / "win_64_.yaml").unlink()
    BuiltinRenderer().render(feedstock)
    after = snapshot(feedstock)
    rendered = {p for p in after if p in OWNED_PATHS}
    assert rendered == {
        "README.md", ".github/workflows/conda-build.yml", ".scripts/build_steps.sh",
        ".scripts/run_docker_build.sh",
    }
    assert {p: after[p][0] for p in foreign} == foreign


def test_skip_render_entries_are_neither_written_nor_removed(tmp_path: Path) -> None:
    config = CONFIG + "skip_render:\n  - README.md\n  - .github/workflows\n"
    root = make_feedstock(tmp_path / "f", config=config)
    (root / "README.md").write_text("my own readme\n")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "conda-build.yml").write_text("on: push\n")
    BuiltinRenderer().render(root)
    assert (root / "README.md").read_text() == "my own readme\n"
    assert (root / ".github" / "workflows" / "conda-build.yml").read_text() == "on: push\n"
    assert (root / ".scripts" / "build_steps.sh").is_file()


def _write(path: str, data: bytes) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return change


def _remove(path: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        target = root / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return change


def _empty_ci_support(root: Path) -> None:
    shutil.rmtree(root / ".ci_support")
    (root / ".ci_support").mkdir()


def _no_variant_files(root: Path) -> None:
    for name in VARIANTS:
        (root / ".ci_support" / name).unlink()
    (root / ".ci_support" / "migrations.yaml").write_text("{}\n")


def _recipe_is_a_directory(root: Path) -> None:
    (root / "recipe" / "meta.yaml").unlink()
    (root / "recipe" / "meta.yaml").mkdir()


BAD_INPUTS = {
    "missing recipe": (
        _remove("recipe/meta.yaml"),
        r"^no recipe: neither recipe/meta\.yaml nor recipe/recipe\.yaml exists$",
    ),
    "recipe is a directory": (
        _recipe_is_a_directory, r"^recipe/meta\.yaml is unreadable: Is a directory$"
    ),
    "recipe not text": (
        _write("recipe/meta.yaml", b"package:\n  name: \xff\xfe\n"),
        r"^recipe/meta\.yaml is unreadable: not UTF-8 text$",
    ),
    "recipe jinja error": (
        _write("recipe/meta.yaml", b"{% if %}\npackage:\n  name: x\n"),
        r"^recipe/meta\.yaml is unreadable: jinja error on line 1: ",
    ),
    "recipe without a name": (
        _write("recipe/meta.yaml", b"package:\n  version: 1\n"),
        r"^recipe/meta\.yaml has no package name",
    ),
    "no .ci_support": (_remove(".ci_support"), r"^\.ci_support is missing or empty: "),
    "empty .ci_support": (_empty_ci_support, r"^\.ci_support is missing or empty: "),
    "no variant in .ci_support": (
        _no_variant_files,
        r"^\.ci_support has no variant files \(.*; found migrations\.yaml\)$",
    ),
    "variant not YAML": (
        _write(".ci_support/osx_64_.yaml", b"target_platform: [osx-64\n"),
        r"^\.ci_support/osx_64_\.yaml is not valid YAML: .*\(line 2, column 1\)$",
    ),
    "variant not a mapping": (
        _write(".ci_support/win_64_.yaml", b"- win-64\n"),
        r"^\.ci_support/win_64_\.yaml must hold a mapping of variant keys, found list$",
    ),
    "conda-forge.yml not YAML": (
        _write("conda-forge.yml", b"provider:\n  linux: azure\nprovider: {}\n"),
        r"^conda-forge\.yml is not valid YAML: duplicate key 'provider' \(line 3, column 1\)$",
    ),
    "unsupported provider": (
        _write("conda-forge.yml", b"provider:\n  osx: travis\n"),
        r"^osx_64 builds on 'travis', which the builtin renderer does not render",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_before_writing_anything(feedstock: Path, case: str) -> None:
    BuiltinRenderer().render(feedstock)  # earlier CI files that a failure must not touch
    change, message = BAD_INPUTS[case]
    change(feedstock)
    before = snapshot(feedstock)
    with pytest.raises(MigratorError, match=message):
        BuiltinRenderer().render(feedstock)
    assert snapshot(feedstock) == before


@pytest.mark.parametrize(
    ("template", "broken", "message"),
    [
        ("run_win_build.bat.j2", "{{ no_such_value }}\n",
         r"^template run_win_build\.bat\.j2 failed: 'no_such_value' is undefined$"),
        ("README.md.j2", "{% if %}\n", r"^template README\.md\.j2 failed: line 1: "),
        ("_macros.j2", "{% macro %}\n", r"^template _macros\.j2 failed: line 1: "),
    ],
)
def test_template_error_names_the_template_and_writes_nothing(
    feedstock: Path, tmp_path: Path, template: str, broken: str, message: str
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, templates)
    (templates / template).write_text(broken)
    before = snapshot(feedstock)
    with pytest.raises(MigratorError, match=message):
        BuiltinRenderer(template_dir=templates).render(feedstock)
    assert snapshot(feedstock) == before


def test_inputs_behind_symlinks_out_of_the_working_copy_are_refused(
    feedstock: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere.yaml"
    secret.write_text("package:\n  name: leaked\nabout:\n  summary: private text\n")
    (feedstock / "recipe" / "meta.yaml").unlink()
    (feedstock / "recipe" / "meta.yaml").symlink_to(secret)
    with pytest.raises(MigratorError, match=r"^recipe/meta\.yaml leads outside the working copy"):
        BuiltinRenderer().render(feedstock)
    assert not (feedstock / "README.md").exists()


def test_outputs_are_never_written_through_symlinks_out_of_the_working_copy(
    feedstock: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (feedstock / ".scripts").symlink_to(outside, target_is_directory=True)
    before = snapshot(feedstock)
    with pytest.raises(MigratorError, match=r"^\.scripts leads outside the working copy"):
        BuiltinRenderer().render(feedstock)
    assert list(outside.iterdir()) == []
    assert snapshot(feedstock) == before
