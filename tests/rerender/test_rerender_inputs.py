"""Reading the render inputs: recipe names, variant files and CI providers."""

from __future__ import annotations

import pytest

from migrator.core.errors import MigratorError
from migrator.feedstock.recipe import read_recipe
from migrator.rerender.builtin import render_feedstock
from migrator.rerender.jobs import plan_jobs
from migrator.rerender.settings import read_settings
from migrator.rerender.variants import Variant, platform_of, read_variants


def recipe(text: str, filename: str = "meta.yaml") -> tuple[str, str, tuple[str, ...]]:
    found = read_recipe({f"recipe/{filename}": text.encode()}, recipe_dir="recipe")
    return found.name, found.feedstock_name, found.outputs


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{% set name = "Foo_Bar" %}\npackage:\n  name: {{ name|lower }}\n', "foo_bar"),
        ("{% set name = 'abc' %}\npackage:\n  name: '{{ name }}'  # a comment\n", "abc"),
        ('{%- set name = "x" -%}\npackage:\n  name: "{{ name | lower }}-split"\n', "x-split"),
        ('{% set version = environ.get("V", "1.0") %}\npackage:\n  name: plain\n'
         "  version: {{ version }}\n", "plain"),
        ('{% set n = "py" ~ "thing" %}\n# package: name: wrong\npackage:\n'
         "  version: {{ load_setup_py_data().version }}\n  name: {{ n }}\n", "pything"),
        ("package:\n  name: {{ name }}{{ suffix }}\n  version: 1\n"
         "{% set name = 'late' %}", None),
    ],
)
def test_meta_yaml_package_name(text: str, name: str | None) -> None:
    if name is None:  # a name built only from names set after use is empty
        with pytest.raises(MigratorError, match=r"^recipe/meta\.yaml has no package name"):
            recipe(text)
    else:
        assert recipe(text)[0] == name


def test_meta_yaml_split_recipe() -> None:
    text = (
        '{% set name = "thing" %}\npackage:\n  name: {{ name }}-split\n'
        "outputs:\n  - name: lib{{ name }}\n  - name: {{ name }}\n"
        "  - name: {{ name }}_{{ target_platform }}\n"
        "extra:\n  feedstock-name: {{ name }}\n"
    )
    assert recipe(text) == ("thing-split", "thing", ("libthing", "thing"))


def test_recipe_yaml_names_come_from_the_context() -> None:
    text = (
        "context:\n  name: Widget\n  version: \"1.0\"\n  rc: -1\n"
        "  full: ${{ version }}${{ ('rc' ~ rc) if rc > -1 else '' }}\n"
        "recipe:\n  name: ${{ name | lower }}-split\n  version: ${{ full }}\n"
        "outputs:\n  - package:\n      name: lib${{ name | lower }}\n"
        "  - package:\n      name: ${{ name | lower }}\n"
    )
    assert recipe(text, "recipe.yaml") == ("widget-split", "widget-split", ("libwidget", "widget"))


def test_recipe_yaml_is_preferred_when_building_with_rattler_build() -> None:
    files = {
        "recipe/meta.yaml": b"package:\n  name: old\n",
        "recipe/recipe.yaml": b"package:\n  name: new\n",
    }
    assert read_recipe(files, recipe_dir="recipe").name == "old"
    assert read_recipe(files, recipe_dir="recipe", prefer_v1=True).name == "new"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("package:\n  name: Not A Name\n",
         r"^recipe/meta\.yaml: cannot work out the package name \(got 'Not A Name'\)$"),
        ("package:\n  version: 1\n", r"^recipe/meta\.yaml has no package name"),
        ("{% for %}\n", r"^recipe/meta\.yaml is unreadable: jinja error on line 1: "),
    ],
)
def test_bad_recipes(text: str, message: str) -> None:
    with pytest.raises(MigratorError, match=message):
        recipe(text)


def test_about_and_maintainers_for_the_readme() -> None:
    text = (
        "package:\n  name: x\nabout:\n  home: https://x.org  # [linux]\n  summary: >\n"
        "    two\n    lines\n  license: MIT\nextra:\n  recipe-maintainers: [b, a]\n"
    )
    found = read_recipe({"recipe/meta.yaml": text.encode()}, recipe_dir="recipe")
    assert dict(found.about) == {"home": "https://x.org", "summary": "two lines", "license": "MIT"}
    assert found.maintainers == ("a", "b")


@pytest.mark.parametrize(
    ("config", "platform"),
    [
        ("linux_64_python3.12.____cpython", "linux_64"),
        ("linux_aarch64_", "linux_aarch64"),
        ("osx_arm64_numpy2", "osx_arm64"),
        ("win_64_", "win_64"),
        ("linux_", "linux_64"),  # names from before architectures were spelled out
        ("osx_c_compilerclang", "osx_64"),
    ],
)
def test_platform_of_a_variant(config: str, platform: str) -> None:
    assert platform_of(config) == platform


def test_variants_are_sorted_and_other_files_ignored() -> None:
    files = {
        ".ci_support/win_64_.yaml": b"{}",
        ".ci_support/linux_64_.yaml": b"docker_image:\n- img:1\n- img:2\n",
        ".ci_support/migrations/x.yaml": b"not: [valid",
        ".ci_support/README": b"text",
        "recipe/linux_64_.yaml": b"{}",
    }
    assert read_variants(files) == [
        Variant("linux_64_", "linux_64", "img:2"), Variant("win_64_", "win_64", None),
    ]


def plan(config: str, *configs: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    variants = [Variant(c, platform_of(c), None) for c in configs]
    jobs = plan_jobs(variants, read_settings(config))
    found = {job.config: (f"azure-{os_}", job.runner) for os_, js in jobs.azure.items()
             for job in js}
    found.update({job.config: ("github_actions", job.runner) for job in jobs.github_actions})
    return found


def test_default_providers() -> None:
    assert plan("{}", "linux_64_", "linux_aarch64_", "osx_64_", "osx_arm64_", "win_64_") == {
        "linux_64_": ("github_actions", ("ubuntu-latest",)),
        "linux_aarch64_": ("github_actions", ("ubuntu-24.04-arm",)),
        "osx_64_": ("azure-osx", ("macOS-15",)),
        "osx_arm64_": ("azure-osx", ("macOS-15-arm64",)),
        "win_64_": ("azure-win", ("windows-2022",)),
    }


def test_configured_providers() -> None:
    config = (
        "provider:\n  linux: azure\n  linux_aarch64: default\n  linux_ppc64le: emulated\n"
        "  osx_arm64: null\n  win_64: github_actions\n"
        "build_platform:\n  osx_arm64: osx_64\n"
        "azure:\n  settings_linux:\n    pool:\n      vmImage: ubuntu-22.04\n"
    )
    assert plan(config, "linux_64_", "linux_aarch64_", "linux_ppc64le_", "osx_arm64_",
                "win_64_") == {
        "linux_64_": ("azure-linux", ("ubuntu-22.04",)),
        "linux_aarch64_": ("azure-linux", ("ubuntu-22.04",)),
        "linux_ppc64le_": ("azure-linux", ("ubuntu-22.04",)),
        "win_64_": ("github_actions", ("windows-2022",)),
    }


def test_self_hosted_runners_are_github_actions() -> None:
    config = "provider:\n  linux_64: cirun-openstack-gpu-large\n"
    assert plan(config, "linux_64_") == {
        "linux_64_": ("github_actions", ("cirun-openstack-gpu-large", "self-hosted")),
    }


def test_providers_the_builtin_renderer_cannot_render() -> None:
    with pytest.raises(MigratorError, match=r"^linux_aarch64 builds on 'drone', which the builtin "
                                         r"renderer does not render \(it renders azure and "
                                         r"github_actions\); use the conda-smithy renderer$"):
        plan("provider:\n  linux_aarch64: drone\n", "linux_aarch64_")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n", r"^conda-forge\.yml must hold a mapping at the top level, found list$"),
        ("provider: azure\n", r"^conda-forge\.yml: provider must be a mapping, found str$"),
        ("secrets: 3\n", r"^conda-forge\.yml: secrets must be a list of strings$"),
        ("recipe_dir: ../elsewhere\n", r"^conda-forge\.yml: recipe_dir '\.\./elsewhere' must be"),
        ("test: sometimes\n", r"^conda-forge\.yml: test is 'sometimes'; expected one of native, "),
    ],
)
def test_bad_settings(text: str, message: str) -> None:
    with pytest.raises(MigratorError, match=message):
        read_settings(text)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"conda-forge.yml": b"secrets: ['X; curl evil']\n"},
         r"^conda-forge\.yml: secrets has characters a CI file cannot hold: 'X; curl evil'$"),
        ({"conda-forge.yml": b"upload_on_branch: 'main\"; curl evil'\n"},
         r"^conda-forge\.yml: upload_on_branch has characters"),
        ({"conda-forge.yml": b"remote_ci_setup: ['conda-forge-ci-setup=4 $(id)']\n"},
         r"^conda-forge\.yml: remote_ci_setup has characters"),
        ({".ci_support/linux_64_.yaml": b"docker_image:\n- 'img: x # y'\n"},
         r"^\.ci_support/linux_64_\.yaml: docker_image 'img: x # y' is not an image name$"),
        ({".ci_support/linux_64_ $(id).yaml": b"{}"},
         r"^\.ci_support/linux_64_ \$\(id\)\.yaml: the variant name has characters"),
        ({"conda-forge.yml": b"azure:\n  settings_win:\n    variables:\n      'A: B': x\n"},
         r"^conda-forge\.yml: azure variable 'A: B' is not a name$"),
    ],
)
def test_values_that_would_change_generated_code_are_refused(
    files: dict[str, bytes], message: str
) -> None:
    base = {
        "recipe/meta.yaml": b"package:\n  name: x\n",
        ".ci_support/win_64_.yaml": b"{}",
    }
    with pytest.raises(MigratorError, match=message):
        render_feedstock({**base, **files})


def test_azure_variable_values_are_quoted() -> None:
    files = render_feedstock({
        "conda-forge.yml": b"azure:\n  settings_win:\n    variables:\n      NOTE: \"a\\nb: 'c'\"\n",
        "recipe/meta.yaml": b"package:\n  name: x\n",
        ".ci_support/win_64_.yaml": b"{}",
    }).files
    text = files[".azure-pipelines/azure-pipelines-win.yml"].decode()
    assert '    NOTE: "a\\nb: \'c\'"\n    UPLOAD_TEMP: D:\\\\tmp\n' in text


@pytest.mark.parametrize("text", [None, "", "[]", "{}", "[ ]"])
def test_empty_settings_mean_defaults(text: str | None) -> None:
    settings = read_settings(text)
    assert (settings.output_validation, settings.recipe_dir, settings.branch) == (
        False, "recipe", "main")
