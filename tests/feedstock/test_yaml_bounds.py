"""Hostile YAML: expansion bombs, self-reference, deep nesting and huge files are refused
before anything is built, quickly and in little memory; ordinary files read as before."""

from __future__ import annotations

import resource
import time

import pytest

from migrator.feedstock import FeedstockError, cfyml
from migrator.feedstock.yamlload import Bounds, YamlTooLarge, check_bounds, load_yaml


def alias_bomb() -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        prev, cur = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_bomb_is_small() -> None:
    assert len(alias_bomb()) < 500


@pytest.mark.parametrize("reader", [
    lambda text: load_yaml(text, what="conda-forge.yml"),
    cfyml.enable_output_validation,
    cfyml.is_enabled,
])
def test_an_alias_bomb_is_refused_fast_and_small(reader: object) -> None:
    before = peak_rss_mib()
    started = time.monotonic()
    with pytest.raises(YamlTooLarge, match="expands to more than .* YAML nodes"):
        reader(alias_bomb())  # type: ignore[operator]
    assert time.monotonic() - started < 1.0
    assert peak_rss_mib() - before < 50


def test_the_expansion_is_counted_before_anything_is_built() -> None:
    text = "a: &a [1, 2, 3]\nb: [*a, *a]\n"
    # the mapping, its two keys, `a` with its items, `b`, and `a` twice more through `b`
    assert check_bounds(text, what="x") == 1 + 2 + (1 + 3) + 1 + 2 * (1 + 3)
    with pytest.raises(YamlTooLarge):
        check_bounds(text, what="x", bounds=Bounds(max_nodes=15))


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(YamlTooLarge, match=r"alias inside its own anchor \(\*a\)"):
        load_yaml("a: &a [1, *a]\n", what="x")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlTooLarge, match="nests deeper than 64 levels"):
        load_yaml("[" * 1000 + "]" * 1000, what="x")
    assert load_yaml("[" * 60 + "]" * 60, what="x") is not None


def test_a_ten_megabyte_config_is_refused_at_once() -> None:
    text = "# filler\n" * (10 * 1024 * 1024 // 9)
    started = time.monotonic()
    with pytest.raises(YamlTooLarge, match=r"conda-forge\.yml is too large: \d+ bytes"):
        cfyml.enable_output_validation(text)
    with pytest.raises(YamlTooLarge, match="is too large"):
        load_yaml(text, what="conda-forge.yml")
    assert time.monotonic() - started < 1.0


def test_many_nodes_in_a_config_are_refused() -> None:
    text = "".join(f"k{i}: [a, b, c]\n" for i in range(5000))  # 25,001 nodes, 80 KB
    with pytest.raises(YamlTooLarge, match="more than 10000 YAML nodes"):
        cfyml.enable_output_validation(text)


def test_yaml_1_2_scalars_and_duplicates_read_as_before() -> None:
    data = load_yaml("a: yes\nb: on\nc: 010\nd: 0o17\ne: 1.10\nf: ~\ng: 0x1F\nh: 1_000\n"
                     "i: true\nj: 2024-01-02\n", what="x")
    assert {k: v for k, v in data.items() if k != "j"} == {
        "a": "yes", "b": "on", "c": 10, "d": 15, "e": 1.1, "f": None, "g": 31, "h": 1000,
        "i": True}
    assert str(data["j"]) == "2024-01-02"
    with pytest.raises(FeedstockError) as info:
        load_yaml("provider:\n  linux: azure\nprovider: {}\n", what="conda-forge.yml")
    assert str(info.value) == ("conda-forge.yml is not valid YAML: duplicate key 'provider' "
                               "(line 3, column 1)")
    assert load_yaml("a: 1\na: 2\n", what="x", allow_duplicate_keys=True) == {"a": 2}
    assert load_yaml("b: &x {a: 1}\nc:\n  <<: *x\n  a: 2\n", what="x")["c"] == {"a": 2}
