"""One way to find and read a recipe: conda-forge.yml's recipe_dir and build tool are
honoured, from a working copy, a git tree or any reader; links never lead out."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.feedstock import FeedstockError
from migrator.feedstock.commit_files import CommitFiles
from migrator.feedstock.recipe_files import (
    Layout,
    commit_recipe_inputs,
    layout_of,
    read_recipe_inputs,
    workdir_recipe_inputs,
)
from migrator.feedstock.recipe_outputs import recipe_outputs
from migrator.feedstock.safe_files import UnsafePath
from migrator.forges.local import LocalForge
from migrator.registries.outputs_registry import REPO
from migrator.registries.outputs_writer import register_outputs

META = b"{% set name = 'moved' %}\npackage:\n  name: {{ name }}\n"
V1 = b"context:\n  name: newer\npackage:\n  name: ${{ name }}\n"


def write(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def commit(root: Path) -> None:
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def committed_inputs(root: Path) -> dict[str, bytes]:
    """The recipe inputs read back from a commit of the working copy at `root`."""
    commit(root)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()
    return commit_recipe_inputs(CommitFiles(root / ".git", head))


def test_recipe_dir_moves_the_recipe(tmp_path: Path) -> None:
    root = write(tmp_path, {"conda-forge.yml": b"recipe_dir: recipe2\n",
                            "recipe2/meta.yaml": META,
                            "recipe2/conda_build_config.yaml": b"python: ['3.12']\n",
                            "recipe/meta.yaml": b"package:\n  name: stale\n",
                            ".ci_support/linux_64_.yaml": b"target_platform: [linux-64]\n"})
    files = workdir_recipe_inputs(root)
    assert sorted(files) == [".ci_support/linux_64_.yaml", "conda-forge.yml",
                             "recipe2/conda_build_config.yaml", "recipe2/meta.yaml"]
    assert recipe_outputs(files).names == ("moved",)
    assert committed_inputs(root) == files
    assert layout_of(files["conda-forge.yml"]) == Layout("recipe2")


def test_rattler_build_reads_recipe_yaml_first(tmp_path: Path) -> None:
    both = {"recipe/meta.yaml": META, "recipe/recipe.yaml": V1}
    assert recipe_outputs(both).names == ("moved",)
    config = {"conda-forge.yml": b"conda_build_tool: rattler-build\n"}
    assert recipe_outputs({**both, **config}).names == ("newer",)
    assert recipe_outputs({"recipe/recipe.yaml": V1}).names == ("newer",)


def test_a_symlinked_recipe_directory_leaks_nothing(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"meta.yaml": b"package:\n  name: leaked-name\n"})
    root = write(tmp_path / "clone", {"conda-forge.yml": b"{}\n"})
    (root / "recipe").symlink_to(outside)
    with pytest.raises(UnsafePath, match="^recipe/meta.yaml: recipe is a symlink"):
        workdir_recipe_inputs(root)
    # as committed, the link is refused with the same words
    with pytest.raises(UnsafePath, match="^recipe/meta.yaml: recipe is a symlink"):
        committed_inputs(root)


def test_a_symlinked_recipe_file_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"meta.yaml": b"package:\n  name: leaked-name\n"})
    root = write(tmp_path / "clone", {})
    (root / "recipe").mkdir()
    (root / "recipe" / "meta.yaml").symlink_to(outside / "meta.yaml")
    with pytest.raises(UnsafePath, match="^recipe/meta.yaml: is a symlink"):
        workdir_recipe_inputs(root)
    with pytest.raises(UnsafePath, match="^recipe/meta.yaml: is a symlink, not a regular"):
        committed_inputs(root)


def test_any_reader_follows_the_layout() -> None:
    store = {"conda-forge.yml": b"recipe_dir: build/recipe\n", "build/recipe/recipe.yaml": V1}
    asked: list[str] = []

    def read(path: str) -> bytes | None:
        asked.append(path)
        return store.get(path)

    files = read_recipe_inputs(read, ci_support=["linux_64_.yaml", "notes.txt"])
    assert files == store
    assert asked == ["conda-forge.yml", *Layout("build/recipe").paths(),
                     ".ci_support/linux_64_.yaml"]
    assert recipe_outputs(files).names == ("newer",)


@pytest.mark.parametrize("value", ["../elsewhere", "/etc", "a/../b", "re cipe", "./recipe"])
def test_recipe_dir_must_be_a_plain_relative_path(value: str) -> None:
    with pytest.raises(FeedstockError, match="recipe_dir .* must be a plain relative path"):
        layout_of(f"recipe_dir: '{value}'\n".encode())


def test_layout_of_unusual_configs() -> None:
    assert layout_of(None) == layout_of(b"[]\n") == layout_of(b"") == Layout()
    # conda-smithy reads conda-forge.yml with PyYAML: the last of two keys wins
    assert layout_of(b"recipe_dir: a\nrecipe_dir: b\n").recipe_dir == "b"
    with pytest.raises(FeedstockError, match="mapping at the top level"):
        layout_of(b"- recipe\n")
    with pytest.raises(FeedstockError, match="not UTF-8"):
        layout_of(b"\xff\xfe")


def push_change(forge: LocalForge, repo: str, tmp: Path, change: dict[str, bytes | Path]
                ) -> None:
    """Replace paths of `repo` by files (bytes) or symlinks (a Path: the link's target)."""
    checkout = tmp / f"edit-{repo}"
    forge.clone(repo, None, checkout)
    for rel, value in change.items():
        target = checkout / rel
        subprocess.run(["git", "rm", "-rq", "--ignore-unmatch", rel], cwd=checkout, check=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, Path):
            target.symlink_to(value)
        else:
            target.write_bytes(value)
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit",
                                 "-q", "-m", "change"]):
        subprocess.run(["git", *args], cwd=checkout, check=True, capture_output=True)
    forge.push(checkout, repo, "main")


def test_the_outputs_registry_follows_recipe_dir_and_never_a_link(
        make_forge: Callable[..., LocalForge], tmp_path: Path) -> None:
    forge = make_forge(count=2, corpus_share=0)
    outside = write(tmp_path / "outside", {"meta.yaml": b"package:\n  name: leaked-name\n"})
    push_change(forge, "pkg00000-feedstock", tmp_path, {
        "conda-forge.yml": b"recipe_dir: recipe2\n", "recipe2/meta.yaml": META})
    push_change(forge, "pkg00001-feedstock", tmp_path, {"recipe": outside})
    results = register_outputs(forge, ["pkg00000", "pkg00001"], workdir=tmp_path / "work")
    assert results["pkg00000"].added == ("moved",)
    assert (results["pkg00001"].error or "").startswith("no recipe")
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD"],
                             cwd=forge.git_dir(REPO), capture_output=True, text=True,
                             check=True).stdout
    assert "/moved.json" in listing and "leaked" not in listing
