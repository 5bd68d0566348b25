"""The renderer registry, the conda-smithy and none renderers, and seed_ci_files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import migrator
from migrator.core.errors import MigratorError, UserError
from migrator.rerender import EXECUTABLE_PATHS, OWNED_PATHS, RENDERERS, get_renderer, seed_ci_files

SEED = {
    "conda-forge.yml": b"conda_forge_output_validation: true\n",
    "recipe/meta.yaml": b'{% set name = "Seeded" %}\npackage:\n  name: {{ name|lower }}\n',
    ".ci_support/linux_64_.yaml": b"target_platform:\n- linux-64\n",
    ".ci_support/win_64_.yaml": b"target_platform:\n- win-64\n",
}


def fake_tool(bin_dir: Path, name: str, body: str) -> Path:
    """An executable `name` in bin_dir that logs its arguments and working directory."""
    bin_dir.mkdir(exist_ok=True)
    log = bin_dir / f"{name}.log"
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$(pwd)" "$@" "<end>" >> "{log}"\n' + textwrap.dedent(body)
    )
    script.chmod(0o755)
    return log


def test_the_registry_holds_exactly_three_renderers() -> None:
    assert sorted(RENDERERS) == ["builtin", "conda-smithy", "none"]


def test_unknown_renderer_lists_the_choices() -> None:
    with pytest.raises(UserError, match=r"^unknown renderer 'smithy'; choose one of: "
                                         r"builtin, conda-smithy, none$"):
        get_renderer("smithy")


def test_builtin_reports_migrators_version() -> None:
    renderer = get_renderer("builtin")
    assert (renderer.name, renderer.version()) == ("builtin", migrator.__version__)


def test_none_renderer_leaves_the_working_copy_alone(tmp_path: Path) -> None:
    (tmp_path / "conda-forge.yml").write_text("{}")
    renderer = get_renderer("none")
    renderer.render(tmp_path)
    assert renderer.name == "none"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conda-forge.yml"]


def test_conda_smithy_missing_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed
    with pytest.raises(UserError, match=r"^conda-smithy is not installed: "):
        get_renderer("conda-smithy")


def test_conda_without_the_smithy_plugin_is_not_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tool(tmp_path, "conda", "exit 2\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match=r"^conda-smithy is not installed: "):
        get_renderer("conda-smithy")


def test_conda_smithy_rerenders_in_the_working_copy_without_committing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_tool(tmp_path / "bin", "conda-smithy", 'echo "3.99.0"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    workdir = tmp_path / "demo-feedstock"
    workdir.mkdir()
    renderer = get_renderer("conda-smithy")
    assert (renderer.name, renderer.version()) == ("conda-smithy", "3.99.0")
    renderer.render(workdir)
    calls = log.read_text().split("<end>\n")
    assert calls[1].splitlines() == [
        str(workdir), "rerender", "--feedstock_directory", str(workdir), "--no-check-uptodate",
    ]


def test_conda_smithy_as_a_conda_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_tool(tmp_path, "conda", 'echo "3.99.1"\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    renderer = get_renderer("conda-smithy")
    assert renderer.version() == "3.99.1"
    renderer.render(tmp_path)
    last = log.read_text().split("<end>\n")[-2].splitlines()
    assert last[1:4] == ["smithy", "rerender", "--feedstock_directory"]


def test_a_failing_rerender_is_a_step_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tool(tmp_path, "conda-smithy", 'echo "working" ; echo "no recipe found" >&2 ; exit 3\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MigratorError, match=r"^conda smithy rerender failed \(exit 3\): "
                                         r"no recipe found$"):
        get_renderer("conda-smithy").render(tmp_path)


def test_seed_ci_files_renders_in_memory() -> None:
    files = seed_ci_files(SEED)
    assert sorted(files) == [
        ".azure-pipelines/azure-pipelines-win.yml", ".github/workflows/conda-build.yml",
        ".scripts/build_steps.sh", ".scripts/run_docker_build.sh",
        ".scripts/run_win_build.bat", "README.md", "azure-pipelines.yml",
    ]
    assert set(files) <= OWNED_PATHS and EXECUTABLE_PATHS & set(files)
    assert all(isinstance(data, bytes) for data in files.values())
    assert files["README.md"].startswith(b"About seeded-feedstock\n")
    assert b'    validate_recipe_outputs "${FEEDSTOCK_NAME}"\n' in files[".scripts/build_steps.sh"]
    assert seed_ci_files(dict(reversed(SEED.items()))) == files


def test_seed_ci_files_without_the_key_uploads_the_old_way() -> None:
    files = seed_ci_files({**SEED, "conda-forge.yml": b"{}"})
    joined = b"".join(files.values())
    assert b"validate_recipe_outputs" not in joined
    assert b"FEEDSTOCK_TOKEN" not in joined and b"STAGING_BINSTAR_TOKEN" not in joined
    assert (
        b'        upload_package  "${FEEDSTOCK_ROOT}" "${RECIPE_ROOT}" "${CONFIG_FILE}"\n'
        in files[".scripts/build_steps.sh"]
    )


def test_seed_ci_files_fails_on_bad_input() -> None:
    with pytest.raises(MigratorError, match=r"^\.ci_support is missing or empty"):
        seed_ci_files({"conda-forge.yml": b"{}", "recipe/meta.yaml": SEED["recipe/meta.yaml"]})
