"""CI provider detection over real feedstocks, and conda-forge.yml resolution when the
rendered files are partial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.rerender.providers import (
    ProviderDetectionError,
    ProviderUse,
    ci_providers,
    platform_of,
    uploading_providers,
)

CORPUS = Path(__file__).resolve().parents[2] / "testing" / "corpus" / "feedstocks"
INDEX = {e["feedstock"]: e for e in json.loads((CORPUS / "INDEX.json").read_text())}
AZ_LINUX = ".azure-pipelines/azure-pipelines-linux.yml"
AZ_OSX = ".azure-pipelines/azure-pipelines-osx.yml"
AZ_WIN = ".azure-pipelines/azure-pipelines-win.yml"
GHA = ".github/workflows/conda-build.yml"


def files_of(name: str) -> dict[str, bytes]:
    return {path: (CORPUS / name / path).read_bytes() for path in INDEX[name]["files"]}


def uses_of(name: str) -> set[tuple[str, str, str]]:
    return {(use.provider, use.platform, use.source) for use in ci_providers(files_of(name))}


def settings_only(name: str, *platforms: str) -> dict[str, bytes]:
    """The feedstock's conda-forge.yml and a variant file per platform, nothing rendered."""
    files = {"conda-forge.yml": (CORPUS / name / "conda-forge.yml").read_bytes()}
    files.update({f".ci_support/{p}_python3.12.yaml": b"" for p in platforms})
    return files


def by_platform(files: dict[str, bytes]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for use in ci_providers(files):
        found.setdefault(use.platform, set()).add(use.provider)
    return found


def test_azure_only() -> None:
    assert uses_of("daal4py-feedstock") == {
        ("azure", "linux_64", AZ_LINUX), ("azure", "win_64", AZ_WIN)}
    assert uploading_providers(files_of("daal4py-feedstock")) == {"azure"}


def test_a_placeholder_workflow_builds_nothing() -> None:
    files = files_of("atari_py-feedstock")
    assert GHA in files
    assert {use.provider for use in ci_providers(files)} == {"azure"}


def test_github_actions_only_with_upload_on_branch() -> None:
    files = files_of("conda-forge-repodata-patches-feedstock")
    assert b"upload_on_branch: main" in files["conda-forge.yml"]
    assert ci_providers(files) == [ProviderUse("github_actions", "linux_64", GHA)]
    assert uploading_providers(files) == {"github_actions"}


def test_mixed_providers_with_emulated_and_cross_built_platforms() -> None:
    assert uses_of("numpy-feedstock") == {
        ("github_actions", "linux_64", GHA), ("github_actions", "linux_aarch64", GHA),
        ("github_actions", "linux_ppc64le", GHA), ("azure", "osx_64", AZ_OSX),
        ("azure", "osx_arm64", AZ_OSX), ("azure", "win_64", AZ_WIN)}
    assert uploading_providers(files_of("numpy-feedstock")) == {"azure", "github_actions"}
    # aarch64 and ppc64le emulated on azure's linux jobs
    assert by_platform(files_of("galsim-feedstock")) == {
        "linux_64": {"azure"}, "linux_aarch64": {"azure"}, "linux_ppc64le": {"azure"},
        "osx_64": {"azure"}, "osx_arm64": {"azure"}}


def test_travis_and_drone_for_aarch64_and_ppc64le() -> None:
    for name in ("abseil-cpp-feedstock", "amplpy-feedstock"):
        uses = uses_of(name)
        assert ("drone", "linux_aarch64", ".drone.yml") in uses
        assert ("travis", "linux_ppc64le", ".travis.yml") in uses
        assert uploading_providers(files_of(name)) == {"azure", "drone", "travis"}
    assert ("travis", "linux_aarch64", ".travis.yml") in uses_of("bazel-feedstock")


def test_appveyor_circle_and_azure_jobs_that_do_not_upload() -> None:
    files = files_of("harfbuzz-feedstock")  # 2019: azure ran with UPLOAD_PACKAGES False
    assert ("appveyor", "win_64", ".appveyor.yml") in uses_of("harfbuzz-feedstock")
    assert ("azure", "win_64", AZ_WIN) in uses_of("harfbuzz-feedstock")
    assert uploading_providers(files) == {"appveyor", "circle", "travis"}


def test_variant_names_from_before_arch_suffixes() -> None:
    assert uses_of("cdo-feedstock") == {("circle", "linux_64", ".circleci/config.yml"),
                                        ("circle", "osx_64", ".circleci/config.yml")}
    assert platform_of("linux_c_compilergcc") == "linux_64"
    assert platform_of("osx_arm64_python3.12") == "osx_arm64"
    assert platform_of("linux_aarch64_") == "linux_aarch64"
    assert platform_of("pypy_python3.9") == "unknown"


def test_partial_files_fall_back_to_conda_forge_yml() -> None:
    files = settings_only("numpy-feedstock", "linux_64", "linux_aarch64", "osx_arm64", "win_64")
    assert ci_providers(files) == [
        ProviderUse("azure", "osx_arm64", "conda-forge.yml"),
        ProviderUse("github_actions", "linux_64", "conda-forge.yml"),
        ProviderUse("github_actions", "linux_aarch64", "conda-forge.yml"),
        ProviderUse("github_actions", "win_64", "conda-forge.yml")]
    # a rendered file covers its platforms; the rest still come from conda-forge.yml
    files[AZ_OSX] = (CORPUS / "numpy-feedstock" / AZ_OSX).read_bytes()
    assert ProviderUse("azure", "osx_arm64", AZ_OSX) in ci_providers(files)
    assert ProviderUse("github_actions", "win_64", "conda-forge.yml") in ci_providers(files)


@pytest.mark.parametrize("name", ["clangdev-feedstock", "jaxlib-feedstock", "emacs-feedstock",
                                  "ambertools-feedstock", "postgresql-feedstock"])
def test_the_fallback_agrees_with_files_rendered_by_current_conda_smithy(name: str) -> None:
    rendered = by_platform(files_of(name))
    assert by_platform(settings_only(name, *rendered)) == rendered


def test_values_resolved_the_way_conda_smithy_resolves_them() -> None:
    def resolve(settings: str, *platforms: str) -> dict[str, set[str]]:
        files = {"conda-forge.yml": settings.encode()}
        files.update({f".ci_support/{p}_.yaml": b"" for p in platforms})
        return by_platform(files)

    assert resolve("provider: {linux_aarch64: default, linux_ppc64le: native}\n",
                   "linux_aarch64", "linux_ppc64le") == {
        "linux_aarch64": {"github_actions"}, "linux_ppc64le": {"travis"}}
    assert resolve("provider: {linux: azure}\n", "linux_64") == {"linux_64": {"azure"}}
    assert resolve("build_platform: {osx_arm64: osx_64}\nprovider: {osx_64: azure}\n",
                   "osx_arm64") == {"osx_arm64": {"azure"}}
    assert resolve("provider: {win_64: [azure, github_actions]}\n", "win_64") == {
        "win_64": {"azure", "github_actions"}}
    # null, false and values naming no provider build the platform nowhere
    assert resolve("provider: {linux_aarch64: linux_64, linux_ppc64le: null}\n",
                   "linux_aarch64", "linux_ppc64le") == {}
    assert resolve("[]", "linux_64") == {"linux_64": {"github_actions"}}


def test_upload_packages_false_for_a_provider() -> None:
    files = {"conda-forge.yml": b"azure:\n  upload_packages: false\n",
             ".ci_support/osx_64_.yaml": b"", ".ci_support/linux_64_.yaml": b""}
    assert {use.provider for use in ci_providers(files)} == {"azure", "github_actions"}
    assert uploading_providers(files) == {"github_actions"}


def test_an_unreadable_conda_forge_yml_fails_only_when_it_is_needed() -> None:
    assert uses_of("qt-feedstock")  # its conda-forge.yml is not YAML; the files suffice
    with pytest.raises(ProviderDetectionError, match="conda-forge.yml is not valid YAML"):
        ci_providers(settings_only("qt-feedstock", "linux_64"))
    with pytest.raises(ProviderDetectionError, match="'provider' is not a mapping"):
        ci_providers(settings_only("llvmdev-feedstock", "win_64"))
    # duplicate keys: the last one wins, as in the YAML reader conda-smithy uses
    assert by_platform(settings_only("amplpy-feedstock", "linux_aarch64", "win_64")) == {
        "linux_aarch64": {"github_actions"}, "win_64": {"github_actions"}}


def test_unreadable_or_hostile_rendered_files_raise_a_clear_error() -> None:
    with pytest.raises(ProviderDetectionError, match=r"\.travis\.yml is not valid YAML"):
        ci_providers({".travis.yml": b"matrix: [unclosed\n"})
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
        b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n" % ((n, n) + (n - 1,) * 10)
        for n in range(ord("b"), ord("k")))
    with pytest.raises(ProviderDetectionError, match=r"\.drone\.yml expands to more than"):
        ci_providers({".drone.yml": bomb})
