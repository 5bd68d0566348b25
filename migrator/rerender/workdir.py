"""Reading a working copy's render inputs, and writing rendered files back into it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from migrator.rerender.refused import RenderError
from migrator.rerender.settings import read_settings
from migrator.rerender.variants import CI_SUPPORT

RECIPE_FILES = ("meta.yaml", "recipe.yaml")


def read_inputs(workdir: Path) -> dict[str, bytes]:
    """conda-forge.yml, the recipe file(s) and .ci_support/*.yaml, keyed by relative path.
    Only what the renderer reads is loaded; a file that exists but cannot be read fails."""
    root = workdir.resolve()
    files: dict[str, bytes] = {}
    if (workdir / "conda-forge.yml").exists():
        files["conda-forge.yml"] = _read(root, "conda-forge.yml")
    text = files["conda-forge.yml"].decode("utf-8", "replace") if files else None
    recipe_dir = read_settings(text).recipe_dir
    for name in RECIPE_FILES:
        path = workdir / recipe_dir / name
        if path.exists() or path.is_symlink():
            files[f"{recipe_dir}/{name}"] = _read(root, f"{recipe_dir}/{name}")
    support = workdir / CI_SUPPORT
    if support.is_dir():
        for entry in sorted(support.iterdir()):
            if entry.suffix == ".yaml" and not entry.is_dir():
                files[f"{CI_SUPPORT}/{entry.name}"] = _read(root, f"{CI_SUPPORT}/{entry.name}")
    return files


def _read(root: Path, name: str) -> bytes:
    path = _inside(root, name)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RenderError(f"{name} is unreadable: {exc.strerror or exc}") from None


def _inside(root: Path, name: str) -> Path:
    """root/name, refusing symlinks that lead out of the working copy: its content is
    untrusted, and what the renderer reads or writes is committed and pushed."""
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise RenderError(f"{name} leads outside the working copy (a symlink?)")
    return path


def apply_outputs(
    workdir: Path,
    outputs: Mapping[str, bytes],
    *,
    owned: frozenset[str],
    executable: frozenset[str],
) -> None:
    """Write `outputs` and delete the `owned` files a render no longer produces.
    Nothing outside `owned` is touched."""
    stray = sorted(set(outputs) - owned)
    if stray:
        raise RenderError(f"refusing to write files the renderer does not own: {stray}")
    root = workdir.resolve()
    for path in sorted(owned):
        _inside(root, str(Path(path).parent))  # all checked before anything is written
    for path in sorted(owned):
        target = root / path
        if path in outputs:
            _write(target, outputs[path], mode=0o755 if path in executable else 0o644)
        elif target.is_symlink() or target.is_file():
            target.unlink()
            _remove_empty_parents(target.parent, stop=root)


def _write(target: Path, content: bytes, *, mode: int) -> None:
    if not target.is_symlink() and target.is_file() and target.read_bytes() == content:
        os.chmod(target, mode)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _remove_empty_parents(directory: Path, *, stop: Path) -> None:
    while directory != stop and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent
