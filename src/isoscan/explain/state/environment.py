"""The process environment: environment variables, working directory, umask, timezone, locale."""

from __future__ import annotations

import locale
import os
import time

from isoscan.explain.state.base import Change, Context, ScalarKind, StateKind, short

ENV = "env"
CWD = "cwd"
UMASK = "umask"
TIMEZONE = "timezone"
LOCALE = "locale"

_RUNNER_ENV = frozenset({"PYTEST_CURRENT_TEST"})  # pytest's own per-test bookkeeping
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE",
                 "CREDENTIAL", "AUTH")


class Environ(StateKind[dict[str, str]]):
    name = ENV

    def take(self, ctx: Context) -> dict[str, str]:
        return dict(os.environ)

    def diff(self, before: dict[str, str], after: dict[str, str], ctx: Context
             ) -> list[Change]:
        changes = []
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key), after.get(key)
            if old == new or key in _RUNNER_ENV:
                continue
            change = "added" if old is None else "removed" if new is None else "changed"
            summary = f"{_env_value(key, old)} -> {_env_value(key, new)}"
            changes.append(Change(ENV, key, change, summary, (key,), {"key": key}))
        return changes


def _env_value(key: str, value: str | None) -> str:
    if value is None:
        return "unset"
    if any(word in key.upper() for word in _SECRET_WORDS):
        return "'***'"
    return short(value)


class Cwd(ScalarKind[str]):
    name = CWD
    terms = ("chdir", "getcwd", "cwd")

    def take(self, ctx: Context) -> str:
        try:
            return os.getcwd()
        except OSError:
            return "<deleted directory>"

    def render(self, value: str) -> str:
        return repr(value)


class Umask(ScalarKind[int]):
    name = UMASK
    terms = ("umask", "chmod", "st_mode")

    def take(self, ctx: Context) -> int:
        old = os.umask(0o022)
        os.umask(old)
        return old

    def render(self, value: int) -> str:
        return f"0o{value:03o}"


TimezoneState = tuple[tuple[str, str], int, int]


class Timezone(StateKind[TimezoneState]):
    name = TIMEZONE

    def take(self, ctx: Context) -> TimezoneState:
        return (time.tzname[0], time.tzname[1]), time.timezone, time.daylight

    def diff(self, before: TimezoneState, after: TimezoneState, ctx: Context) -> list[Change]:
        if before == after:
            return []
        summary = f"{short(before[0])} -> {short(after[0])}"
        if before[0] == after[0]:
            summary = f"UTC offset {-before[1]}s -> {-after[1]}s"
        return [Change(TIMEZONE, "", "changed", summary,
                       ("TZ", "tzname", "tzset", "localtime", "strftime", "mktime", "ctime",
                        "now", "fromtimestamp", "astimezone"))]


_LOCALE_CATEGORIES = [name for name in ("LC_CTYPE", "LC_COLLATE", "LC_TIME", "LC_MONETARY",
                                        "LC_NUMERIC", "LC_MESSAGES") if hasattr(locale, name)]


class Locale(StateKind[dict[str, str]]):
    name = LOCALE

    def take(self, ctx: Context) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in _LOCALE_CATEGORIES:
            try:
                out[name] = locale.setlocale(getattr(locale, name))  # no value: a query
            except locale.Error:
                out[name] = "?"
        return out

    def diff(self, before: dict[str, str], after: dict[str, str], ctx: Context
             ) -> list[Change]:
        return [Change(LOCALE, name, "changed",
                       f"{short(before[name])} -> {short(after[name])}",
                       (name, "locale", "setlocale", "format_string", "currency", "atof",
                        "strxfrm", "strcoll"), {"category": name, "before": before[name]})
                for name in before if before[name] != after.get(name)]
