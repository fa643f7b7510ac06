"""Logging configuration: each logger's level, handlers, propagate and disabled flags, and the
global ``logging.disable`` level."""

from __future__ import annotations

import logging

from isoscan.explain.state.base import Change, Context, StateKind

LOGGING = "logging"

LoggerState = tuple[int, tuple[tuple[int, str], ...], bool, bool]
LoggingState = tuple[dict[str, LoggerState], int]  # per logger, and the logging.disable level


class Logging(StateKind[LoggingState]):
    name = LOGGING

    def take(self, ctx: Context) -> LoggingState:
        loggers: dict[str, logging.Logger] = {"root": logging.getLogger()}
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                loggers[name] = logger
        state = {name: (lg.level, tuple((id(h), _handler(h)) for h in lg.handlers),
                        lg.propagate, lg.disabled) for name, lg in loggers.items()}
        return state, logging.root.manager.disable

    def diff(self, before: LoggingState, after: LoggingState, ctx: Context) -> list[Change]:
        changes = []
        if before[1] != after[1]:
            changes.append(Change(LOGGING, "logging.disable", "changed",
                                  f"{_level(before[1])} -> {_level(after[1])}",
                                  ("logging", "disable", "caplog")))
        for name, (level, handlers, propagate, disabled) in after[0].items():
            old = before[0].get(name, (logging.NOTSET, (), True, False))
            terms = (name, name.rsplit(".", 1)[-1], "getLogger", "caplog")
            detail = {"logger": name}
            if old[0] != level:
                changes.append(Change(LOGGING, name, "changed",
                                      f"level {_level(old[0])} -> {_level(level)}", terms,
                                      {**detail, "what": "level"}))
            for ident, desc in handlers:
                if ident not in {i for i, _ in old[1]}:
                    changes.append(Change(LOGGING, name, "added", f"handler added: {desc}",
                                          terms, {**detail, "what": "handler", "handler": desc}))
            for ident, desc in old[1]:
                if ident not in {i for i, _ in handlers}:
                    changes.append(Change(LOGGING, name, "removed", f"handler removed: {desc}",
                                          terms, {**detail, "what": "handler", "handler": desc}))
            if old[2] != propagate:
                changes.append(Change(LOGGING, name, "changed",
                                      f"propagate {old[2]} -> {propagate}", terms,
                                      {**detail, "what": "propagate"}))
            if old[3] != disabled:
                changes.append(Change(LOGGING, name, "changed",
                                      "disabled" if disabled else "re-enabled", terms,
                                      {**detail, "what": "disabled"}))
        return changes


def _handler(handler: logging.Handler) -> str:
    target = getattr(handler, "baseFilename", None) or \
        getattr(getattr(handler, "stream", None), "name", None)
    return f"{type(handler).__name__}({target})" if target else type(handler).__name__


def _level(level: int) -> str:
    return logging.getLevelName(level) if level else "NOTSET"
