"""Small-cell suppression for every number staff can see.

A count of one or two answers on a path can point at one client, so counts
below a threshold are hidden. Hiding them alone is not enough: a parent total
minus its shown children gives the hidden one back. Following the NHS Friends
and Family Test publication rules, more cells are hidden (complementary
suppression) until no hidden count can be worked out from the shown ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MIN_THRESHOLD = 3
DEFAULT_THRESHOLD = 5


@dataclass(frozen=True)
class CountNode:
    """A count whose children split it completely (parent = sum of children)."""

    key: str
    count: int
    children: tuple[CountNode, ...] = ()


@dataclass(frozen=True)
class ShownNode:
    """What may be published: ``count`` is None where it is suppressed."""

    key: str
    count: int | None
    children: tuple[ShownNode, ...] = ()


def suppress_tree(root: CountNode, threshold: int = DEFAULT_THRESHOLD) -> ShownNode:
    """Suppress small cells in a tree of counts, the root included."""
    return _Suppressor(root, threshold, root_published=False).result()


def suppress_flat(
    counts: Mapping[str, int], threshold: int = DEFAULT_THRESHOLD
) -> dict[str, int | None]:
    """Suppress small cells among siblings whose total is published elsewhere.

    The total is treated as known even when it is small itself; a single
    sibling equals its total and cannot be protected here.
    """
    root = CountNode("", sum(counts.values()), tuple(CountNode(k, v) for k, v in counts.items()))
    shown = _Suppressor(root, threshold, root_published=True).result()
    return {child.key: child.count for child in shown.children}


def quantize(count: int, step: int) -> int:
    """Floor ``count`` to a multiple of ``step`` so a counter cannot tick per visit."""
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    return count - count % step


class _Suppressor:
    """Flattens the tree and grows the suppressed set until the rules hold."""

    def __init__(self, root: CountNode, threshold: int, *, root_published: bool) -> None:
        if threshold < MIN_THRESHOLD:
            raise ValueError(
                f"suppression threshold must be at least {MIN_THRESHOLD}, got {threshold}: "
                "smaller cells can identify a client"
            )
        self.nodes: list[CountNode] = []
        self.children: list[list[int]] = []
        self._flatten(root)
        self.pinned = {0} if root_published else set()
        self.hidden = {
            i
            for i, node in enumerate(self.nodes)
            if 0 < node.count < threshold and i not in self.pinned
        }
        while self._sweep():
            pass

    def _flatten(self, node: CountNode) -> int:
        if node.count < 0:
            raise ValueError(f"count of {node.key!r} is negative")
        if node.children and sum(c.count for c in node.children) != node.count:
            raise ValueError(f"children of {node.key!r} do not sum to its count {node.count}")
        index = len(self.nodes)
        self.nodes.append(node)
        self.children.append([])
        self.children[index] = [self._flatten(child) for child in node.children]
        return index

    def _sweep(self) -> bool:
        """Apply every rule once; report whether anything new was hidden."""
        changed = False
        for parent, kids in enumerate(self.children):
            if not kids:
                continue
            hidden_kids = sum(k in self.hidden for k in kids)
            if parent not in self.hidden:
                # Shown parent: one hidden child is recoverable by subtraction.
                if hidden_kids == 1 and len(kids) == 1 and parent not in self.pinned:
                    changed |= self._hide([parent])
                elif hidden_kids == 1:
                    changed |= self._hide(self._smallest_shown(kids, 1))
            else:
                # Hidden parent: shown children would add up to it.
                wanted = min(2, len(kids))
                if hidden_kids < wanted:
                    changed |= self._hide(self._smallest_shown(kids, wanted - hidden_kids))
        return changed

    def _smallest_shown(self, kids: list[int], how_many: int) -> list[int]:
        """Shown siblings to hide next: smallest non-zero first, zeros last.

        Hiding a zero protects least, since a hidden zero is still worth 0.
        """
        shown = [k for k in kids if k not in self.hidden]
        shown.sort(key=lambda k: (self.nodes[k].count == 0, self.nodes[k].count, k))
        return shown[:how_many]

    def _hide(self, indices: list[int]) -> bool:
        new = set(indices) - self.hidden
        self.hidden |= new
        return bool(new)

    def result(self, index: int = 0) -> ShownNode:
        node = self.nodes[index]
        return ShownNode(
            key=node.key,
            count=None if index in self.hidden else node.count,
            children=tuple(self.result(k) for k in self.children[index]),
        )
