"""Reading a page as a screen reader would: its links, the landmark each is in, their text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr"})


@dataclass
class Link:
    href: str
    text: str
    attrs: dict[str, str]
    # The aria-label of the <nav> the link is in ("" outside any), and the classes of the
    # list item around it.
    nav: str
    item_classes: str


@dataclass
class Page(HTMLParser):
    links: list[Link] = field(default_factory=list)
    navs: list[str] = field(default_factory=list)
    _open: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _link: Link | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "nav":
            self.navs.append(values.get("aria-label", ""))
        if tag == "a":
            self._link = Link(
                values.get("href", ""), "", values, self._within("nav"), self._item_classes()
            )
        if tag not in VOID:
            self._open.append((tag, values))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self._link.text = " ".join(self._link.text.split())
            self.links.append(self._link)
            self._link = None
        while self._open:
            closed, _ = self._open.pop()
            if closed == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link.text += data

    def _within(self, tag: str) -> str:
        for name, values in reversed(self._open):
            if name == tag:
                return values.get("aria-label", "")
        return ""

    def _item_classes(self) -> str:
        for name, values in reversed(self._open):
            if name == "li":
                return values.get("class", "")
        return ""

    def in_nav(self, label: str) -> list[Link]:
        return [link for link in self.links if link.nav == label]


def read(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page
