"""Read a page back for tests: its tags, and each table's cells as text (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Probe:
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    #: table id (or "#n" for the n-th table without one) -> rows of cell texts
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    #: every text node outside <style>, in order
    texts: list[str] = field(default_factory=list)

    def count(self, tag: str, **attrs: str) -> int:
        return sum(
            1
            for name, found in self.tags
            if name == tag and all(attr_has(found, key, value) for key, value in attrs.items())
        )

    def has_id(self, element_id: str) -> bool:
        return any(found.get("id") == element_id for _, found in self.tags)


def attr_has(found: dict[str, str | None], key: str, value: str) -> bool:
    """``class_`` matches one of the element's classes; any other attribute matches whole."""
    if key == "class_":
        return value in (found.get("class") or "").split()
    return found.get(key) == value


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.probe = Probe()
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_style = False
        self._unnamed = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.probe.tags.append((tag, found))
        if tag == "style":
            self._in_style = True
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "table":
            name = found.get("id")
            if not name:
                self._unnamed += 1
                name = f"#{self._unnamed}"
            self._table = self.probe.tables.setdefault(name, [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        elif tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_style:
            return
        self.probe.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def probe(page: str) -> Probe:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    return reader.probe
