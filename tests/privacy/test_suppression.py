"""No hidden count can be recovered from the counts that are shown."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from server.privacy.suppression import (
    DEFAULT_THRESHOLD,
    MIN_THRESHOLD,
    CountNode,
    ShownNode,
    quantize,
    suppress_flat,
    suppress_tree,
)

INF = math.inf
Interval = tuple[float, float]  # integer bounds, hi may be INF

# --- the attacker: what can be derived from a published tree ---------------


def _inside(node: ShownNode) -> Interval:
    """Values ``node`` can take given only the shown counts in its own subtree."""
    if node.count is not None:
        return (node.count, node.count)
    if not node.children:
        return (0, INF)
    spans = [_inside(child) for child in node.children]
    return (sum(lo for lo, _ in spans), sum(hi for _, hi in spans))


def feasible_ranges(root: ShownNode, root_known: int | None = None) -> dict[str, Interval]:
    """Exact range of every node's value over all non-negative integer fillings.

    In a tree the node's subtree and the rest only share the node's value, so
    the feasible values are inside(node) ∩ outside(node); sums and differences
    of integer intervals are integer intervals, so the ranges are exact. Keys
    are slash-joined paths from the root.
    """
    ranges: dict[str, Interval] = {}
    top = root_known if root_known is not None else root.count
    outside: Interval = (0, INF) if top is None else (top, top)

    def walk(node: ShownNode, path: str, outside: Interval) -> None:
        inside = _inside(node)
        own = ranges[path] = (max(inside[0], outside[0]), min(inside[1], outside[1]))
        spans = [_inside(child) for child in node.children]
        for i, child in enumerate(node.children):
            rest = spans[:i] + spans[i + 1 :]
            lo = own[0] - sum(hi for _, hi in rest)
            hi = own[1] - sum(lo for lo, _ in rest)
            walk(child, f"{path}/{child.key}", (max(lo, 0), hi))

    walk(root, root.key, outside)
    return ranges


def hidden_paths(node: ShownNode, path: str | None = None) -> list[str]:
    path = node.key if path is None else path
    own = [path] if node.count is None else []
    return own + [p for c in node.children for p in hidden_paths(c, f"{path}/{c.key}")]


def pairs(original: CountNode, shown: ShownNode) -> list[tuple[CountNode, ShownNode]]:
    assert original.key == shown.key
    assert len(original.children) == len(shown.children)
    nested = [pairs(o, s) for o, s in zip(original.children, shown.children, strict=True)]
    return [(original, shown), *itertools.chain.from_iterable(nested)]


# --- trees -----------------------------------------------------------------

small_counts = st.integers(0, 9)
thresholds = st.integers(MIN_THRESHOLD, 6)


def trees(
    depth: int, max_children: int = 4, counts: st.SearchStrategy[int] = small_counts
) -> st.SearchStrategy[CountNode]:
    """Consistent trees where every leaf is exactly ``depth`` levels down."""
    if depth == 0:
        return counts.map(lambda n: CountNode("leaf", n))
    subtrees = trees(depth - 1, max_children, counts)
    return st.lists(subtrees, min_size=1, max_size=max_children).map(
        lambda kids: CountNode(
            "node",
            sum(k.count for k in kids),
            tuple(CountNode(f"k{i}", k.count, k.children) for i, k in enumerate(kids)),
        )
    )


random_trees = st.integers(2, 3).flatmap(trees)

# --- properties ------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(random_trees, thresholds)
def test_no_hidden_count_can_be_derived(root: CountNode, threshold: int) -> None:
    shown = suppress_tree(root, threshold)
    ranges = feasible_ranges(shown)
    for path in hidden_paths(shown):
        lo, hi = ranges[path]
        assert hi > lo, f"{path} is pinned to {lo}"


@settings(max_examples=250, deadline=None)
@given(random_trees, thresholds)
def test_shown_counts_are_true_and_small_ones_hidden(root: CountNode, threshold: int) -> None:
    for original, shown in pairs(root, suppress_tree(root, threshold)):
        if 0 < original.count < threshold:
            assert shown.count is None
        else:
            assert shown.count in (None, original.count)


@settings(max_examples=250, deadline=None)
@given(random_trees, thresholds)
def test_every_hidden_node_has_hidden_company(root: CountNode, threshold: int) -> None:
    for _, node in pairs(root, suppress_tree(root, threshold)):
        hidden = sum(child.count is None for child in node.children)
        if node.count is not None:
            assert hidden != 1, "one hidden child under a shown total"
        elif node.children:
            assert hidden >= min(2, len(node.children))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=3), small_counts, min_size=2), thresholds)
def test_flat_counts_hide_from_the_published_total(counts: dict[str, int], threshold: int) -> None:
    result = suppress_flat(counts, threshold)
    assert result.keys() == counts.keys()
    shown = ShownNode("total", None, tuple(ShownNode(k, v) for k, v in result.items()))
    ranges = feasible_ranges(shown, root_known=sum(counts.values()))
    for key, value in result.items():
        if value is None:
            lo, hi = ranges[f"total/{key}"]
            assert hi > lo
        else:
            assert value == counts[key]
        if 0 < counts[key] < threshold:
            assert value is None


SEARCH_LIMIT = 3000


def brute_force_ranges(shown: ShownNode) -> dict[str, Interval]:
    """Try every filling of the hidden leaves; min and max seen per node.

    A hidden leaf cannot exceed its nearest shown ancestor, so with a shown
    root the search is complete.
    """
    leaves: list[tuple[str, int]] = []

    def collect(node: ShownNode, path: str, bound: int) -> None:
        bound = bound if node.count is None else node.count
        if not node.children and node.count is None:
            leaves.append((path, bound))
        for child in node.children:
            collect(child, f"{path}/{child.key}", bound)

    def evaluate(node: ShownNode, path: str, fill: dict[str, int], out: dict[str, int]) -> int:
        if node.children:
            value = sum(evaluate(c, f"{path}/{c.key}", fill, out) for c in node.children)
        else:
            value = fill[path] if node.count is None else node.count
        out[path] = value
        return value

    assert shown.count is not None
    collect(shown, shown.key, shown.count)
    assume(math.prod(bound + 1 for _, bound in leaves) <= SEARCH_LIMIT)
    published = _shown_nodes(shown, shown.key)
    seen: dict[str, set[int]] = {}
    for values in itertools.product(*(range(bound + 1) for _, bound in leaves)):
        out: dict[str, int] = {}
        evaluate(shown, shown.key, {p: v for (p, _), v in zip(leaves, values, strict=True)}, out)
        if all(out[p] == n.count for p, n in published):
            for path, value in out.items():
                seen.setdefault(path, set()).add(value)
    return {path: (min(v), max(v)) for path, v in seen.items()}


def _shown_nodes(node: ShownNode, path: str) -> list[tuple[str, ShownNode]]:
    own = [(path, node)] if node.count is not None else []
    return own + [x for c in node.children for x in _shown_nodes(c, f"{path}/{c.key}")]


@settings(max_examples=150, deadline=None)
@given(trees(2, max_children=3, counts=st.integers(0, 4)), thresholds)
def test_attacker_model_matches_brute_force(root: CountNode, threshold: int) -> None:
    """The interval attacker above is exact, checked by enumeration on small trees.

    The root is published here so the enumeration is finite.
    """
    hidden = suppress_tree(root, threshold)
    shown = ShownNode(hidden.key, root.count, hidden.children)
    assert brute_force_ranges(shown) == feasible_ranges(shown)


# --- examples --------------------------------------------------------------


def fft(*counts: int) -> CountNode:
    options = ("very_good", "good", "neither", "poor", "very_poor", "dont_know")
    kids = tuple(CountNode(o, c) for o, c in zip(options, counts, strict=False))
    return CountNode("total", sum(counts), kids)


def shown_counts(node: ShownNode) -> list[int | None]:
    return [child.count for child in node.children]


def test_one_small_cell_takes_the_next_smallest_with_it() -> None:
    result = suppress_tree(fft(40, 12, 7, 2, 0, 9))
    assert result.count == 70
    assert shown_counts(result) == [40, 12, None, None, 0, 9]


def test_two_small_cells_protect_each_other_and_zero_is_shown() -> None:
    assert shown_counts(suppress_tree(fft(40, 12, 4, 1, 0, 0))) == [40, 12, None, None, 0, 0]


def test_a_small_total_hides_everything_but_zeros_need_company() -> None:
    result = suppress_tree(fft(3, 0, 0, 0, 0, 0))
    assert result.count is None
    assert shown_counts(result) == [None, None, 0, 0, 0, 0]


def test_hidden_path_total_pulls_a_sibling_path_and_its_options() -> None:
    paths = CountNode(
        "all",
        30,
        (
            CountNode("toimeentulotuki", 4, (CountNode("good", 3), CountNode("poor", 1))),
            CountNode(
                "lastensuojelu",
                26,
                (CountNode("good", 15), CountNode("neither", 6), CountNode("poor", 5)),
            ),
        ),
    )
    result = suppress_tree(paths)
    assert result.count == 30
    tuki, lasu = result.children
    assert (tuki.count, lasu.count) == (None, None)
    assert shown_counts(tuki) == [None, None]
    assert shown_counts(lasu) == [15, None, None]


def test_flat_counts() -> None:
    assert suppress_flat({"kiosk": 50, "sms": 2, "qr": 8, "web": 0}) == {
        "kiosk": 50,
        "sms": None,
        "qr": None,
        "web": 0,
    }


@pytest.mark.parametrize("threshold", [-1, 0, 1, 2])
def test_threshold_below_three_is_refused(threshold: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        suppress_tree(fft(1, 2), threshold)
    with pytest.raises(ValueError, match="at least 3"):
        suppress_flat({"a": 10, "b": 1}, threshold)


def test_default_threshold_is_five() -> None:
    assert DEFAULT_THRESHOLD == 5
    assert suppress_tree(fft(4, 10)).children[0].count is None
    assert suppress_tree(fft(5, 10)).children[0].count == 5


@pytest.mark.parametrize(
    ("root", "message"),
    [
        (CountNode("total", 10, (CountNode("a", 4), CountNode("b", 5))), "do not sum"),
        (CountNode("total", 1, (CountNode("a", -1), CountNode("b", 2))), "negative"),
    ],
)
def test_inconsistent_counts_are_refused(root: CountNode, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suppress_tree(root)


@given(st.integers(0, 10**6), st.integers(1, 1000))
def test_quantize_floors_to_a_step(count: int, step: int) -> None:
    result = quantize(count, step)
    assert result % step == 0
    assert 0 <= count - result < step


@pytest.mark.parametrize(("count", "step", "message"), [(5, 0, "step"), (-1, 5, "count")])
def test_quantize_refuses_nonsense(count: int, step: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quantize(count, step)
