"""The outputs registry: its file layout, batched registration with push races, the
glob allowlist, and reading output names from real recipes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from migrator.feedstock.recipe_outputs import RECIPE_FILES, RecipeError, recipe_outputs
from migrator.forges.local import LocalForge
from migrator.registries import outputs_registry as registry
from migrator.registries.outputs_writer import register_outputs
from testing.outputs_support import (
    OutputsEnv,
    body,
    commit_files,
    env_fixture,  # noqa: F401 (the env fixture)
    listed,
    make_forge,
    stage,
)

CORPUS = Path(__file__).resolve().parents[2] / "testing" / "corpus" / "feedstocks"


@pytest.mark.parametrize(("name", "path"), [
    ("numpy", "outputs/n/u/m/numpy.json"),
    ("ad", "outputs/a/d/z/ad.json"),
    ("r", "outputs/r/z/z/r.json"),
    ("r-b64", "outputs/r/b/6/r-b64.json"),
    ("7za", "outputs/7/z/a/7za.json"),
    ("_libarchive_static_for_cph", "outputs/l/i/b/_libarchive_static_for_cph.json"),
    ("PyQt5-SIP", "outputs/p/y/q/pyqt5-sip.json"),
])
def test_shard_paths(name: str, path: str) -> None:
    assert registry.shard_path(name) == path


def commits(forge: LocalForge, repo: str) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%H %s", "main"], cwd=forge.git_dir(repo),
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def owners(forge: LocalForge, name: str) -> Any:
    raw = forge.read_file("feedstock-outputs", registry.shard_path(name))
    return None if raw is None else json.loads(raw)


def test_batch_registration_is_one_commit(tmp_path: Path) -> None:
    forge = make_forge(tmp_path / "forge", count=3)
    commit_files(forge, "pkg00001-feedstock", {"recipe/meta.yaml": (
        "package:\n  name: pkg00001-split\noutputs:\n  - name: libpkg00001\n"
        "  - name: Pkg00001\n")}, tmp_path)
    commit_files(forge, "feedstock-outputs", {
        registry.shard_path("pkg00002"): registry.dump_entry(["someone-else"])}, tmp_path)
    before = commits(forge, "feedstock-outputs")
    results = register_outputs(forge, {"pkg00000": ["pkg00000"], "pkg00002": ["pkg00002"]} |
                               {"pkg00001-feedstock": ["libpkg00001", "pkg00001"]},
                               workdir=tmp_path / "w")
    after = commits(forge, "feedstock-outputs")
    assert len(after) == len(before) + 1
    assert "[ci skip] [skip ci] [cf admin skip] ***NO_CI***" in after[0]
    assert results["pkg00000"].added == ("pkg00000",)
    assert results["pkg00001"].added == ("libpkg00001", "pkg00001")
    assert results["pkg00002"].taken == (("pkg00002", ("someone-else",)),)
    assert not results["pkg00002"].ok and results["pkg00001"].ok
    assert owners(forge, "libpkg00001") == {"feedstocks": ["pkg00001"]}
    assert owners(forge, "pkg00002") == {"feedstocks": ["someone-else"]}
    # names read from the recipe; a second run finds everything registered: no commit
    again = register_outputs(forge, ["pkg00001"], workdir=tmp_path / "w")
    assert again["pkg00001"].already == ("libpkg00001", "pkg00001")
    assert commits(forge, "feedstock-outputs") == after


class RacingForge:
    """A forge where someone else pushes to the registry just before our first push."""

    def __init__(self, forge: LocalForge, tmp: Path) -> None:
        self.forge, self.tmp, self.raced = forge, tmp, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.forge, name)

    def push(self, workdir: Path, repo: str, branch: str) -> None:
        if self.raced == 0:
            self.raced += 1
            commit_files(self.forge, repo, {
                registry.shard_path("contested"): registry.dump_entry(["rival"])}, self.tmp)
        self.forge.push(workdir, repo, branch)


def test_a_lost_push_race_is_redone_on_the_new_head(tmp_path: Path) -> None:
    forge = make_forge(tmp_path / "forge", count=1)
    racing = RacingForge(forge, tmp_path)
    results = register_outputs(racing, {"pkg00000": ["pkg00000", "contested"]},  # type: ignore[arg-type]
                               workdir=tmp_path / "w")
    assert racing.raced == 1
    assert results["pkg00000"].added == ("pkg00000",)
    assert results["pkg00000"].taken == (("contested", ("rival",)),)
    assert owners(forge, "contested") == {"feedstocks": ["rival"]}
    history = commits(forge, "feedstock-outputs")
    # never forced: the rival's commit is still there, under ours
    assert "test change" in history[1] and history[0].split()[1] == "Register"


def test_empty_registry_repository(tmp_path: Path) -> None:
    forge = make_forge(tmp_path / "forge", count=1)
    empty = forge.git_dir("feedstock-outputs")
    subprocess.run(["rm", "-rf", str(empty)], check=True)
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(empty)],
                   check=True)
    results = register_outputs(forge, {"pkg00000": ["pkg00000"]}, workdir=tmp_path / "w")
    assert results["pkg00000"].added == ("pkg00000",)
    assert owners(forge, "pkg00000") == {"feedstocks": ["pkg00000"]}


def test_allowlist_globs_and_case(env: OutputsEnv, tmp_path: Path) -> None:
    commit_files(env.forge, "feedstock-outputs", {registry.ALLOWLIST: (
        "# feedstock: glob patterns\npkg00000:\n- pkg00000-plugin-*\n- libpkg00001*\n")},
        tmp_path)
    plugin, sha = stage(env.service, tmp_path, name="pkg00000-plugin-a")
    report = env.service.copy(body("pkg00000", {plugin.key: sha}), env.token)
    assert report.results[plugin.key].kind.value == "copied"
    # as conda-forge: a glob allows a name even when it is registered to another
    # feedstock (the owners are the union), and the registration is left as it was
    lib, lib_sha = stage(env.service, tmp_path, name="libpkg00001", version="9")
    report = env.service.copy(body("pkg00000", {lib.key: lib_sha}), env.token)
    assert report.results[lib.key].kind.value == "copied"
    assert registry.registered(env.forge, "libpkg00001") == ["pkg00001"]
    # registry files are looked up lower-cased
    upper, upper_sha = stage(env.service, tmp_path, name="PKG00000")
    report = env.service.copy(body("pkg00000", {upper.key: upper_sha}), env.token)
    assert report.results[upper.key].kind.value == "copied"
    assert listed(env.production) == {plugin.fn, lib.fn, upper.fn}
    # a name published through a glob is registered to its feedstock afterwards (by a
    # commit made in the background, for many requests at once; flushed here)
    env.service.flush_claims()
    assert registry.registered(env.forge, "pkg00000-plugin-a") == ["pkg00000"]


def corpus_files(feedstock: str) -> dict[str, bytes]:
    folder = CORPUS / feedstock
    files = {p: (folder / p).read_bytes() for p in RECIPE_FILES if (folder / p).is_file()}
    for path in (folder / ".ci_support").glob("*.yaml"):
        files[f".ci_support/{path.name}"] = path.read_bytes()
    return files


@pytest.mark.parametrize(("feedstock", "expected", "unresolved"), [
    ("abseil-cpp-feedstock", ["abseil-cpp"], []),
    ("fastlowess-feedstock", ["fastlowess", "libfastlowess", "r-rfastlowess"], []),
    ("xgboost-feedstock", ["libxgboost", "py-xgboost", "r-xgboost", "xgboost"], []),
    ("openblas-feedstock", ["libopenblas", "libopenblas-ilp64", "openblas",
                            "openblas-ilp64"], []),
    ("oxigraph-feedstock", ["oxigraph-server", "pyoxigraph"], []),
    ("pypy3.6-feedstock", ["pypy3.9"], []),
    ("cupy-feedstock", ["cupy", "cupy-core"], []),
])
def test_names_from_real_recipes(feedstock: str, expected: list[str],
                                 unresolved: list[str]) -> None:
    outputs = recipe_outputs(corpus_files(feedstock))
    assert list(outputs.names) == expected and list(outputs.unresolved) == unresolved


def test_every_corpus_recipe_is_read() -> None:
    read = 0
    for folder in sorted(CORPUS.iterdir()):
        files = corpus_files(folder.name)
        if "recipe/meta.yaml" in files or "recipe/recipe.yaml" in files:
            outputs = recipe_outputs(files)
            assert outputs.names or outputs.unresolved, folder.name
            read += 1
    assert read >= 40


def test_variant_values_expand_names() -> None:
    ocaml = recipe_outputs(corpus_files("ocaml-feedstock"))
    assert {"ocaml", "ocaml_linux-64", "ocaml_osx-arm64"} <= set(ocaml.names)
    clang = recipe_outputs(corpus_files("clangdev-feedstock"))
    assert "libclang-cpp22.1" in clang.names  # from context: maj_min
    assert "clang_impl_linux-64" in clang.names  # from .ci_support target_platform
    bare = recipe_outputs({k: v for k, v in corpus_files("clangdev-feedstock").items()
                           if not k.startswith(".ci_support/")})
    assert "clang_impl_{target_platform}" in bare.unresolved


def test_v1_conditional_outputs_keep_both_branches() -> None:
    text = (b"context:\n  name: foo\n  v: '1.2'\nrecipe:\n  name: ${{ name }}-split\n"
            b"outputs:\n  - package:\n      name: lib${{ name }}${{ v | split('.') | first }}\n"
            b"  - if: win\n    then:\n      package:\n        name: ${{ name }}-win\n"
            b"    else:\n      - package:\n          name: ${{ name }}-unix\n")
    outputs = recipe_outputs({"recipe/recipe.yaml": text})
    assert outputs.names == ("foo-unix", "foo-win", "libfoo1")


def test_unreadable_recipes() -> None:
    with pytest.raises(RecipeError, match="no recipe"):
        recipe_outputs({})
    with pytest.raises(RecipeError, match="jinja error"):
        recipe_outputs({"recipe/meta.yaml": b"package:\n  name: {{ oops\n"})
    with pytest.raises(RecipeError, match="names no package"):
        recipe_outputs({"recipe/meta.yaml": b"about:\n  home: x\n"})
