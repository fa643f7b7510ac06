"""Signal handlers, compared by name."""

from __future__ import annotations

import signal

from isoscan.explain.state.base import Change, Context, StateKind, short

SIGNAL = "signal"


class Signals(StateKind[dict[str, str]]):
    name = SIGNAL

    def take(self, ctx: Context) -> dict[str, str]:
        out = {}
        for number in sorted(signal.valid_signals()):
            try:
                handler = signal.getsignal(number)
                name = signal.Signals(number).name
            except (ValueError, OSError):
                continue
            out[name] = _signal_handler(handler)
        return out

    def diff(self, before: dict[str, str], after: dict[str, str], ctx: Context
             ) -> list[Change]:
        return [Change(SIGNAL, name, "changed", f"{before[name]} -> {after[name]}",
                       (name, "signal", "getsignal"), {"signal": name, "before": before[name]})
                for name in before if after.get(name, before[name]) != before[name]]


def _signal_handler(handler: object) -> str:
    if handler is None:
        return "None (set outside Python)"
    if isinstance(handler, signal.Handlers):
        return handler.name
    if callable(handler):
        # By name, not identity: a timeout plugin re-installs an equal closure every test.
        module = getattr(handler, "__module__", None) or "?"
        return f"{module}.{getattr(handler, '__qualname__', type(handler).__qualname__)}"
    return short(handler)
