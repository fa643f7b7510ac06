"""Whatever the project's ``pytest_isoscan_snapshot`` hooks return, compared key by key."""

from __future__ import annotations

from typing import Any

from isoscan.explain.state.base import Change, Context, StateKind, short

USER = "user"

_ABSENT = object()


class UserState(StateKind[dict[str, Any]]):
    name = USER

    def take(self, ctx: Context) -> dict[str, Any]:
        return ctx.user_state() if ctx.user_state is not None else {}

    def diff(self, before: dict[str, Any], after: dict[str, Any], ctx: Context
             ) -> list[Change]:
        changes = []
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
            if old == new:
                continue
            change = "added" if old is _ABSENT else "removed" if new is _ABSENT else "changed"
            parts = [p for p in key.replace(":", ".").replace("/", ".").split(".") if p]
            changes.append(Change(USER, key, change, f"{_user_text(old)} -> {_user_text(new)}",
                                  (key, *parts), {"key": key}))
        return changes


def _user_text(value: object) -> str:
    return "absent" if value is _ABSENT else short(value)
