"""A tiny stdlib HTML scanner so tests can ask about elements without a DOM library."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "link", "input", "br", "img", "hr", "use", "circle", "path", "rect"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    text: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        return "".join(self.text).strip()


class Scanner(HTMLParser):
    """Collects every element with its attributes and its full text content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[Node] = []
        self.open: list[Node] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.nodes.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.nodes.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                break

    def handle_data(self, data: str) -> None:
        for node in self.open:
            node.text.append(data)


def scan(html: str) -> list[Node]:
    scanner = Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.nodes


def find(nodes: list[Node], tag: str, **attrs: str) -> list[Node]:
    """Elements with ``tag`` whose attributes include ``attrs`` (``_`` in names means ``-``)."""
    wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
    return [
        n for n in nodes if n.tag == tag and all(n.attrs.get(k) == v for k, v in wanted.items())
    ]


def by_id(nodes: list[Node], element_id: str) -> Node:
    (node,) = [n for n in nodes if n.attrs.get("id") == element_id]
    return node
