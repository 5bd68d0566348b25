"""The seeded local forge: generated feedstocks on real conda-smithy layouts, packed
repositories git accepts, and the Azure Pipelines store beside them."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest

from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges import PushRejected
from migrator.forges.ci_secrets import STAGING_TOKEN
from migrator.forges.local import LocalForge
from migrator.forges.local_pipelines import LocalPipelines
from migrator.rerender.patch import ci_files_of, validation_patch
from migrator.rerender.providers import ProviderDetectionError, uploading_providers
from testing.leakscan import scan
from testing.seed import create_forge, describe
from testing.seed_content import SHAPES, WORKABLE_CORPUS, corpus_feedstocks
from testing.seed_layouts import CORPUS, LAYOUTS
from testing.unpatch import unpatch

COUNT = 60
KEY = re.compile(rb"^conda_forge_output_validation:[ \t]*true\b", re.M)
BROKEN = {
    "broken-tabs", "broken-list-root", "broken-scalar-root", "broken-duplicate-keys",
    "broken-invalid-yaml", "empty-config", "broken-no-config", "broken-no-recipe",
    "broken-empty-repo", "broken-missing-branch", "broken-push-rejected",
    "broken-travis-upload", "broken-appveyor-upload", "broken-old-layout",
}


class Seeded(NamedTuple):
    forge: LocalForge
    staging: Secret


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    staging = Secret.new_token()
    forge = create_forge(tmp_path_factory.mktemp("seed") / "forge", count=COUNT,
                         corpus_share=0, broken=True, workers=1, staging_token=staging)
    return Seeded(forge, staging)


def tree_of(git_dir: Path, ref: str = "HEAD") -> dict[str, tuple[str, bytes]]:
    """path -> (git mode, content) of every file at `ref`, read with two git processes."""
    listing = subprocess.run(["git", "ls-tree", "-r", "-z", ref], cwd=git_dir,
                             capture_output=True, check=True).stdout
    entries = []
    for item in filter(None, listing.split(b"\0")):
        meta, raw_path = item.split(b"\t", 1)
        mode, _, sha = meta.decode().split()
        entries.append((raw_path.decode(), mode, sha))
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=git_dir, check=True,
                         input="".join(f"{sha}\n" for _, _, sha in entries).encode(),
                         capture_output=True).stdout
    files, at = {}, 0
    for path, mode, _ in entries:
        end = out.index(b"\n", at)
        size = int(out[at:end].split()[2])
        files[path] = (mode, out[end + 1: end + 1 + size])
        at = end + 2 + size
    return files


def contents(forge: LocalForge, name: str) -> dict[str, bytes]:
    return {path: data for path, (_, data) in tree_of(forge.git_dir(name)).items()}


def corpus(feedstock: str) -> dict[str, bytes]:
    folder = CORPUS / feedstock
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def generated_names() -> list[str]:
    return [f"pkg{i:05d}-feedstock" for i in range(COUNT)]


def test_the_patch_accepts_every_generated_feedstock_and_providers_mix(seeded: Seeded) -> None:
    mix: Counter[frozenset[str]] = Counter()
    validated = 0
    for name in generated_names():
        files = contents(seeded.forge, name)
        result = validation_patch(files)
        assert result.refusal is None, name
        if KEY.search(files["conda-forge.yml"]):
            validated += 1
            assert result.changed == {}, name  # rendered with validation already
        else:
            assert result.changed, name
        mix[uploading_providers(files)] += 1
    assert set(mix) == {frozenset({"github_actions"}), frozenset({"azure"}),
                        frozenset({"azure", "github_actions"})}
    assert min(mix.values()) >= 10, mix
    assert validated == COUNT // 10


def test_ci_files_are_what_conda_smithy_rendered_with_only_the_names_changed(
        seeded: Seeded) -> None:
    table = json.loads((seeded.forge.root / "repos.json").read_text())
    reals: dict[str, tuple[dict[str, bytes], dict[str, bytes]]] = {}
    seen = set()
    for index, name in enumerate(generated_names()):
        validated = SHAPES[index % len(SHAPES)][0] == "validated"
        layout = table[name]["source"].removeprefix("generated:")
        seen.add((layout, validated))
        files = contents(seeded.forge, name)
        if layout not in reals:
            reals[layout] = _real_and_plain(LAYOUTS[layout].feedstock)
        real, plain = reals[layout]
        rendered_on = {**files, **validation_patch(files).changed}
        for path in ci_files_of(real):  # byte for byte what conda-smithy renders, key on
            assert rendered_on[path] == real[path], (name, path)
            if not validated:
                assert files[path] == plain[path], (name, path)
        assert bool(KEY.search(files["conda-forge.yml"])) == validated
        assert sorted(p for p in files if p.startswith(".ci_support/")) == \
            sorted(p for p in real if p.startswith(".ci_support/"))
        readme = files["README.md"].decode()
        old = LAYOUTS[layout].feedstock.removesuffix("-feedstock")
        assert readme.startswith(f"About {name}\n")
        assert f"conda install {name.removesuffix('-feedstock')}\n" in readme
        assert old not in readme and old.replace("-", "--") not in readme
        assert len(readme.splitlines()) == len(real["README.md"].decode().splitlines())
    assert seen == {(k, v) for k in LAYOUTS for v in (False, True)}


def _real_and_plain(feedstock: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    real = corpus(feedstock)
    return real, unpatch(real)


def test_shell_scripts_are_executable_as_conda_smithy_commits_them(seeded: Seeded,
                                                                   tmp_path: Path) -> None:
    modes = {path: mode for path, (mode, _) in
             tree_of(seeded.forge.git_dir("pkg00001-feedstock")).items()}
    assert {p for p, m in modes.items() if m == "100755"} == {
        ".scripts/build_steps.sh", ".scripts/run_docker_build.sh", ".scripts/run_osx_build.sh"}
    assert set(modes.values()) == {"100644", "100755"}
    seeded.forge.clone("pkg00001-feedstock", "main", tmp_path / "wc")
    assert os.access(tmp_path / "wc" / ".scripts" / "build_steps.sh", os.X_OK)
    assert not os.access(tmp_path / "wc" / "README.md", os.X_OK)


def test_azure_store_has_a_pipeline_per_feedstock_and_the_staging_group(
        seeded: Seeded) -> None:
    forge, root = seeded.forge, seeded.forge.root
    store = LocalPipelines(root / "azure")
    names = [r.name for r in forge.list_feedstocks()]
    assert any(r.archived for r in forge.list_feedstocks())
    assert sorted(p.stem for p in (root / "azure" / "pipelines").glob("*.json")) == names
    unlinked = [n for n in names if store.pipeline(n).groups == ()]
    assert unlinked == ["pkg00004-feedstock", "pkg00024-feedstock", "pkg00044-feedstock"]
    for name in unlinked:
        assert "azure" in uploading_providers(contents(forge, name))
        assert STAGING_TOKEN not in store.ci_secrets(name)
    for name in ("pkg00000-feedstock", "broken-empty-repo-feedstock"):
        assert store.pipeline(name).groups == ("anaconda-org",)
        assert store.ci_secrets(name)[STAGING_TOKEN] == seeded.staging.reveal()
    ids = [store.pipeline(n).id for n in names]
    assert len(set(ids)) == len(ids)
    assert scan([seeded.staging.reveal()], trees=[root]) == []


def test_repositories_pass_fsck_clone_and_take_pushes_but_no_forced_ones(
        seeded: Seeded, tmp_path: Path) -> None:
    forge = seeded.forge
    for name in ("feedstock-tokens", "feedstock-outputs", "pkg00000-feedstock",
                 "pkg00003-feedstock", "pkg00009-feedstock", "broken-old-layout-feedstock",
                 "broken-empty-repo-feedstock"):
        done = subprocess.run(["git", "fsck", "--strict", "--full", "--no-dangling"],
                              cwd=forge.git_dir(name), capture_output=True, text=True)
        assert done.returncode == 0, (name, done.stderr)
        assert not re.search(r"error|warning|missing|broken", done.stdout + done.stderr), name
    assert forge.branches(forge.repo("pkg00003-feedstock")) == ["main", "v1.x"]
    repo = forge.repo("empty-config-feedstock")  # not a generated one: those stay packed
    assert forge.read_file(repo.name, "LICENSE.txt") == contents(forge, repo.name)["LICENSE.txt"]
    work = tmp_path / "wc"
    subprocess.run(["git", "clone", "-q", forge.git_dir(repo.name).as_uri(), str(work)],
                   check=True)
    (work / "conda-forge.yml").write_bytes(b"bot: {}\n")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "edit", cwd=work)
    forge.push(work, repo.name, "main")
    assert forge.read_file(repo.name, "conda-forge.yml") == b"bot: {}\n"
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--amend", "-m", "again",
        cwd=work)
    with pytest.raises(PushRejected):
        forge.push(work, repo.name, "main")
    forced = subprocess.run(["git", "push", "--force", "origin", "HEAD:main"], cwd=work,
                            capture_output=True, text=True)
    assert forced.returncode != 0 and "non-fast-forward" in forced.stderr
    # HEAD and config are shared files on disk; git's own changes stay in one repository
    other = forge.git_dir("pkg00000-feedstock")
    assert (other / "config").stat().st_ino == (forge.git_dir(repo.name) / "config").stat().st_ino
    git("config", "receive.denyDeletes", "true", cwd=forge.git_dir(repo.name))
    git("symbolic-ref", "HEAD", "refs/heads/trunk", cwd=forge.git_dir(repo.name))
    assert "denyDeletes" not in (other / "config").read_text()
    assert (other / "HEAD").read_text() == "ref: refs/heads/main\n"


def test_repositories_are_packed_and_a_few_kib(seeded: Seeded) -> None:
    for name in generated_names():
        git_dir = seeded.forge.git_dir(name)
        assert sorted(p.name for p in (git_dir / "objects").iterdir()) == ["pack"]
        packs = sorted((git_dir / "objects" / "pack").iterdir())
        assert [p.suffix for p in packs] == [".idx", ".pack"]
        assert sum(p.stat().st_size for p in packs) < 24 * 1024, name
        on_disk = sum(p.stat().st_blocks * 512 for p in git_dir.rglob("*"))
        assert on_disk <= 48 * 1024, name  # with the directories' blocks


def test_broken_kinds_are_all_there(seeded: Seeded) -> None:
    forge = seeded.forge
    names = {r.name.removesuffix("-feedstock") for r in forge.list_feedstocks()}
    assert BROKEN <= names
    assert "travis" in uploading_providers(contents(forge, "broken-travis-upload-feedstock"))
    appveyor = contents(forge, "broken-appveyor-upload-feedstock")
    assert uploading_providers(appveyor) == {"appveyor", "azure"}
    old = validation_patch(contents(forge, "broken-old-layout-feedstock")).refusal
    assert old is not None and "does not set FEEDSTOCK_NAME" in old
    assert not KEY.search(contents(forge, "broken-old-layout-feedstock")["conda-forge.yml"])
    empty = forge.git_dir("broken-empty-repo-feedstock")
    assert git("for-each-ref", cwd=empty).strip() == ""
    hook = forge.git_dir("broken-push-rejected-feedstock") / "hooks" / "pre-receive"
    assert os.access(hook, os.X_OK)
    assert forge.repo("broken-missing-branch-feedstock").default_branch == "gone"
    assert describe(forge) == {"feedstocks": len(names), "archived": 3}


def test_worker_processes_make_the_same_forge(tmp_path: Path) -> None:
    made = {}
    for workers in (1, 2):  # 260 feedstocks: two runs of them, so two tasks for the pool
        forge = create_forge(tmp_path / str(workers), count=260, corpus_share=0.1,
                             workers=workers)
        store = LocalPipelines(forge.root / "azure")
        names = [r.name for r in forge.list_feedstocks()]
        # a pack is named by its checksum: the same names, the same bytes
        heads = {n: (sorted(os.listdir(forge.git_dir(n) / "objects" / "pack")),
                     (forge.git_dir(n) / "packed-refs").read_text(), store.pipeline(n).groups)
                 for n in names}
        ids = {store.pipeline(n).id for n in names}  # Azure's ids follow no order either
        assert len(ids) == len(names) == 260
        made[workers] = (heads, (forge.root / "repos.json").read_text())
    assert made[1] == made[2]


def test_corpus_feedstocks_are_seeded_as_stored(tmp_path: Path) -> None:
    seeds = corpus_feedstocks(include_broken=True)
    assert len(seeds) == len(json.loads((CORPUS / "INDEX.json").read_text()))
    for seed in seeds:
        stored = corpus(f"{seed.name}-feedstock")
        assert {p: seed.files[p][0] for p in stored} == stored, seed.name
        assert set(seed.files) - set(stored) <= {"README.md", "recipe/meta.yaml",
                                                 ".ci_support/linux_64_.yaml"}, seed.name
        assert {p for p, (_, x) in seed.files.items() if x} == \
            {p for p in seed.files if p.endswith(".sh")}, seed.name
    forge = create_forge(tmp_path / "forge", count=2, corpus_share=1.0, workers=1)
    for repo in forge.list_feedstocks():
        stored = corpus(repo.name)
        assert {p: d for p, d in contents(forge, repo.name).items() if p in stored} == stored


def test_a_forge_takes_the_corpus_feedstocks_the_migration_can_handle_first() -> None:
    workable = set()
    for seed in corpus_feedstocks(include_broken=False):
        files = {p: d for p, (d, _) in seed.files.items()}
        try:
            uploads = uploading_providers(files)
        except ProviderDetectionError:
            continue
        if uploads and uploads <= {"azure", "github_actions"} and \
                validation_patch(files).refusal is None:
            workable.add(seed.name)
    assert workable == WORKABLE_CORPUS
    names = [s.name for s in corpus_feedstocks(include_broken=False)]
    assert names[: len(workable)] == sorted(workable)
    assert names[len(workable):] == sorted(names[len(workable):])
