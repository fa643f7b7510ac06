"""The asyncio event loop policy and the current event loop."""

from __future__ import annotations

import sys

from isoscan.explain.state.base import Change, Context, StateKind

ASYNCIO = "asyncio"

AsyncioState = tuple[str, str]  # (policy class, loop description)


class Asyncio(StateKind[AsyncioState]):
    name = ASYNCIO

    def take(self, ctx: Context) -> AsyncioState:
        asyncio = sys.modules.get("asyncio")
        events = getattr(asyncio, "events", None) if asyncio is not None else None
        # Read the private slot, not get_event_loop_policy(), which would create a policy itself.
        policy = getattr(events, "_event_loop_policy", None)
        if policy is None:
            return "None", "none"
        loop = getattr(getattr(policy, "_local", None), "_loop", None)
        if loop is None:
            loop_text = "none"
        else:
            closed = loop.is_closed() if hasattr(loop, "is_closed") else False
            loop_text = f"{type(loop).__name__} ({'closed' if closed else 'open'})"
        return f"{type(policy).__module__}.{type(policy).__qualname__}", loop_text

    def diff(self, before: AsyncioState, after: AsyncioState, ctx: Context) -> list[Change]:
        terms = ("asyncio", "get_event_loop", "new_event_loop", "run", "get_event_loop_policy")
        changes = []
        if before[0] != after[0] and not (before[0] == "None" and
                                          after[0].endswith("DefaultEventLoopPolicy")):
            changes.append(Change(ASYNCIO, "event loop policy", "changed",
                                  f"{before[0]} -> {after[0]}", terms, {"what": "policy"}))
        if before[1] != after[1] and after[1] != "none":
            changes.append(Change(ASYNCIO, "current event loop", "changed",
                                  f"{before[1]} -> {after[1]}", terms, {"what": "loop"}))
        return changes
