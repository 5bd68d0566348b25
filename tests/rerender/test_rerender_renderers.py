"""The renderer registry: patch, auto, conda-smithy and none."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.core.errors import MigratorError, UserError
from migrator.core.git import git
from migrator.rerender import RENDERERS, get_renderer
from migrator.rerender.patch import validation_patch
from testing.unpatch import unpatch

CORPUS = Path(__file__).resolve().parents[2] / "testing" / "corpus" / "feedstocks"



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


def checkout_of(workdir: Path, files: dict[str, bytes]) -> Callable[[], Path]:
    """A committed git working tree holding `files`, handed out as a renderer asks."""
    workdir.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
        (workdir / path).write_bytes(data)
    git("init", "-q", cwd=workdir)
    git("add", "-A", cwd=workdir)
    git("commit", "-q", "--allow-empty", "-m", "x", cwd=workdir)
    return lambda: workdir


TOOLS = {tool: shutil.which(tool) or tool for tool in ("git", "rm")}  # before PATH changes


def with_git(bin_dir: Path) -> str:
    """A PATH of `bin_dir`, git (a full rerender reads its changes with git) and rm."""
    for tool, real in TOOLS.items():
        (bin_dir / tool).symlink_to(real)
    return str(bin_dir)


def nowhere() -> Path:
    raise AssertionError("this renderer needs no working tree")


def test_the_registry_holds_exactly_four_renderers() -> None:
    assert sorted(RENDERERS) == ["auto", "conda-smithy", "none", "patch"]


def test_unknown_renderer_lists_the_choices() -> None:
    with pytest.raises(UserError, match=r"^unknown renderer 'smithy'; choose one of: "
                                         r"auto, conda-smithy, none, patch$"):
        get_renderer("smithy")


def test_none_renderer_changes_nothing() -> None:
    renderer = get_renderer("none")
    rendered = renderer.render({"conda-forge.yml": b"{}"}, nowhere)
    assert renderer.name == "none" and not rendered.full and rendered.changed == {}


def _corpus_files(name: str) -> dict[str, bytes]:
    root = CORPUS / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not p.relative_to(root).as_posix().startswith("recipe/")}


def test_patch_renderer_makes_exactly_the_validation_edits() -> None:
    original = _corpus_files("numpy-feedstock")
    stripped = unpatch(original)
    rendered = get_renderer("patch").render(stripped, nowhere)
    assert (rendered.tool, rendered.full) == ("the validation patch", False)
    assert rendered.changed == validation_patch(stripped).changed
    assert rendered.changed and all(original[p] == d for p, d in rendered.changed.items())


def test_auto_sends_an_unrecognised_layout_to_conda_smithy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _corpus_files("harfbuzz-feedstock")
    assert get_renderer("patch").refusal(files) is not None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    refused = get_renderer("auto").refusal(files)
    assert refused is not None and "conda-smithy is not installed" in refused
    fake_tool(tmp_path / "bin", "conda-smithy", 'echo "3.99.0"\n')
    monkeypatch.setenv("PATH", with_git(tmp_path / "bin"))
    auto = get_renderer("auto")
    assert auto.refusal(files) is None
    rendered = auto.render(files, checkout_of(tmp_path / "wc", files))
    assert (rendered.tool, rendered.full) == ("conda-smithy 3.99.0", True)


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


def test_conda_smithy_rerenders_in_a_working_tree_and_reports_its_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_tool(tmp_path / "bin", "conda-smithy", """\
        if [ "$1" = rerender ]; then
          echo "new" > .scripts/build_steps.sh; rm old.yml; echo "x" > added.txt
        fi
        echo "3.99.0"
        """)
    monkeypatch.setenv("PATH", with_git(tmp_path / "bin"))
    workdir = tmp_path / "demo-feedstock"
    files = {".scripts/build_steps.sh": b"old\n", "old.yml": b"a: 1\n", "same": b"s\n"}
    renderer = get_renderer("conda-smithy")
    assert (renderer.name, renderer.version()) == ("conda-smithy", "3.99.0")
    rendered = renderer.render(files, checkout_of(workdir, files))
    assert rendered.full
    assert rendered.changed == {".scripts/build_steps.sh": b"new\n", "added.txt": b"x\n",
                                "old.yml": None}
    assert git("log", "--format=%s", cwd=workdir).splitlines() == ["x"]  # nothing committed
    calls = log.read_text().split("<end>\n")
    assert calls[1].splitlines() == [
        str(workdir), "rerender", "--feedstock_directory", str(workdir), "--no-check-uptodate",
    ]


def test_conda_smithy_as_a_conda_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_tool(tmp_path, "conda", 'echo "3.99.1"\n')
    monkeypatch.setenv("PATH", with_git(tmp_path))
    renderer = get_renderer("conda-smithy")
    assert renderer.version() == "3.99.1"
    renderer.render({}, checkout_of(tmp_path / "wc", {}))
    calls = [c.splitlines()[1:] for c in log.read_text().split("<end>\n")[:-1]]
    assert ["smithy", "rerender", "--feedstock_directory", str(tmp_path / "wc"),
            "--no-check-uptodate"] in calls


def test_a_failing_rerender_is_a_step_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tool(tmp_path, "conda-smithy", 'echo "working" ; echo "no recipe found" >&2 ; exit 3\n')
    monkeypatch.setenv("PATH", with_git(tmp_path))
    with pytest.raises(MigratorError, match=r"^conda smithy rerender failed \(exit 3\): "
                                         r"no recipe found$"):
        get_renderer("conda-smithy").render({}, checkout_of(tmp_path / "wc", {}))
