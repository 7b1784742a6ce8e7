"""Time windows of a search: GitHub's date qualifiers take whole seconds, and a window over the result cap is
split into smaller ones."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..times import iso


@dataclass(frozen=True)
class Window:
    """An inclusive range of whole seconds, the unit GitHub's date qualifiers understand."""

    start: datetime
    end: datetime

    def qualifier(self, field_name: str) -> str:
        return f"{field_name}:{iso(self.start)}..{iso(self.end)}"

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def split(self, parts: int) -> list[Window]:
        """Cut into up to `parts` adjacent windows that share no second and together cover this one."""
        parts = max(2, min(parts, self.seconds + 1))
        step = (self.seconds + 1) / parts
        bounds = [self.start + timedelta(seconds=round(step * i)) for i in range(parts)] + [
            self.end + timedelta(seconds=1)
        ]
        return [Window(lo, hi - timedelta(seconds=1)) for lo, hi in itertools.pairwise(bounds) if hi > lo]


@dataclass
class SearchWindow:
    """The items of one window that fits under the result cap; `complete` is False when GitHub kept saying its
    results were incomplete, so nothing may be concluded from what is missing."""

    window: Window
    items: list[dict]
    complete: bool = True
