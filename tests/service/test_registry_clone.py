"""The service's clone of a registry: plain files are read, links refused, never followed."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.registries import outputs_registry as registry
from migrator.service.registry_clone import RegistryClone
from testing.forge_edits import commit_file
from testing.hostile import commit_symlink
from testing.seed import create_forge

REPO = "feedstock-outputs"


def test_plain_files_read_and_links_refused(tmp_path: Path) -> None:
    forge = create_forge(tmp_path / "forge", count=0, corpus_share=0, workers=1)
    secret = tmp_path / "outside.json"
    secret.write_text('{"feedstocks": ["stolen"]}')
    commit_file(forge, REPO, "outputs/n/u/numpy.json", '{"feedstocks": ["numpy"]}\n',
                tmp_path / "edit")
    commit_symlink(forge, REPO, "outputs/s/c/scipy.json", secret, tmp_path / "links")
    commit_symlink(forge, REPO, "outputs/l", tmp_path, tmp_path / "folder-link")
    clone = RegistryClone(forge, tmp_path / "clones", repo=REPO)
    assert clone.update()
    with clone.lock:
        assert clone.read("outputs/n/u/numpy.json") == b'{"feedstocks": ["numpy"]}\n'
        assert clone.read("outputs/n/u/nothing.json") is None
        with pytest.raises(registry.RegistryError, match="numpy.json is a symlink or not"):
            clone.read("outputs/n/u/numpy.json/deeper.json")
        with pytest.raises(registry.RegistryError, match="scipy.json: is a symlink"):
            clone.read("outputs/s/c/scipy.json")
        with pytest.raises(registry.RegistryError, match="outputs/l/outside.json"):
            clone.read("outputs/l/outside.json")
        with pytest.raises(registry.RegistryError, match="is a directory"):
            clone.read("outputs/n/u")
    clone.close()
