"""`forge init --broken`: one feedstock for each kind of bad input the migration must
survive, each otherwise a sound feedstock so that its one fault is what stops it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from testing.seed_content import LICENSE, FeedstockSeed, Files, config, recipe
from testing.seed_layouts import LAYOUTS, corpus_files, layout_files

_KEY_LINE = re.compile(rb"^conda_forge_output_validation:.*(\n|$)", re.M)


def broken_feedstocks() -> Iterator[FeedstockSeed]:
    yield FeedstockSeed("broken-tabs", _files("broken-tabs", b"github:\n\tbranch_name: main\n"))
    yield FeedstockSeed("broken-list-root", _files("broken-list-root", b"- provider\n- azure\n"))
    yield FeedstockSeed("broken-scalar-root", _files("broken-scalar-root", b"just text\n"))
    yield FeedstockSeed("broken-duplicate-keys", _files(
        "broken-duplicate-keys", b"bot:\n  automerge: true\nbot:\n  automerge: false\n"))
    yield FeedstockSeed("broken-invalid-yaml",
                        _files("broken-invalid-yaml", b"github:\n  branch_name: [main\n"))
    yield FeedstockSeed("empty-config", _files("empty-config", b""))
    yield FeedstockSeed("broken-no-config", _files("broken-no-config", None))
    yield FeedstockSeed("broken-no-recipe", _files("broken-no-recipe", with_recipe=False))
    yield FeedstockSeed("broken-empty-repo", {}, empty=True)
    yield FeedstockSeed("broken-missing-branch", _files("broken-missing-branch"),
                        default_branch="gone")
    yield FeedstockSeed("broken-push-rejected", _files("broken-push-rejected"),
                        reject_pushes=True)
    yield from _ci_faults()


def _files(name: str, config_text: bytes | None = b"{}\n", *, with_recipe: bool = True
           ) -> Files:
    made = dict(layout_files(LAYOUTS["github-actions"].feedstock, name, validated=False))
    made["LICENSE.txt"] = (LICENSE, False)
    if with_recipe:
        made.update(recipe(name))
    if config_text is not None:
        made["conda-forge.yml"] = (config_text, False)
    return made


def _ci_faults() -> Iterator[FeedstockSeed]:
    """Uploads from a CI service that cannot hold a feedstock token, and a layout the
    validation patch does not know."""
    name = "broken-travis-upload"  # linux_ppc64le uploads from travis
    files = dict(layout_files("amplpy-feedstock", name, validated=False))
    del files[".drone.yml"]  # so that travis is the one service the bot cannot serve
    files["conda-forge.yml"] = (config(
        "modern", name, provider=(("linux_ppc64le", "travis"), ("win", "azure"))), False)
    yield FeedstockSeed(name, {**files, **recipe(name)}, source="corpus-layout:amplpy")

    name = "broken-appveyor-upload"  # win_64 uploads from appveyor, linux from azure
    files = dict(layout_files(LAYOUTS["azure-linux"].feedstock, name, validated=False))
    files[".appveyor.yml"] = (corpus_files("harfbuzz-feedstock")[".appveyor.yml"], False)
    files["conda-forge.yml"] = (config(
        "modern", name, provider=(("linux_64", "azure"), ("win", "appveyor"))), False)
    yield FeedstockSeed(name, {**files, **recipe(name)},
                        source="corpus-layout:begins+harfbuzz/.appveyor.yml")

    name = "broken-old-layout"  # rendered in 2020, before the layout the patch knows
    files = dict(layout_files("adept-feedstock", name, validated=False))
    stored = corpus_files("adept-feedstock")["conda-forge.yml"]
    files["conda-forge.yml"] = (_KEY_LINE.sub(b"", stored), False)
    yield FeedstockSeed(name, {**files, **recipe(name)}, source="corpus-layout:adept")
