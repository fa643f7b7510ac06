"""The warnings filters (``warnings.filters``)."""

from __future__ import annotations

import warnings

from isoscan.explain.state.base import Change, Context, StateKind, multiset_diff

WARNINGS = "warnings"

# (action, message pattern, category name, module pattern, lineno)
WarningFilter = tuple[str, str | None, str, str | None, int]


class Warnings(StateKind[list[WarningFilter]]):
    name = WARNINGS

    def take(self, ctx: Context) -> list[WarningFilter]:
        out: list[WarningFilter] = []
        for action, message, category, module, lineno in warnings.filters:
            pattern = getattr(message, "pattern", message)
            where = getattr(module, "pattern", module)
            out.append((action, pattern if isinstance(pattern, str) else None,
                        getattr(category, "__name__", str(category)),
                        where if isinstance(where, str) else None, lineno))
        return out

    def diff(self, before: list[WarningFilter], after: list[WarningFilter], ctx: Context
             ) -> list[Change]:
        added, removed = multiset_diff(before, after)
        return [_warning_change(e, "added") for e in added] + \
            [_warning_change(e, "removed") for e in removed]


def _warning_change(entry: WarningFilter, change: str) -> Change:
    action, message, category, module, lineno = entry
    text = f"{action!r}, category={category}"
    if message:
        text += f", message={message!r}"
    if module:
        text += f", module={module!r}"
    if lineno:
        text += f", lineno={lineno}"
    return Change(WARNINGS, "", change, f"filter {change} ({text})",
                  (category, "warns", "filterwarnings", "simplefilter"),
                  {"action": action, "category": category})
