"""Open file descriptors and sockets, read through ``/proc/self``."""

from __future__ import annotations

import os
import socket

from isoscan.explain.state.base import Change, Context, StateKind

FD = "fd"
SOCKET = "socket"  # a change kind of the descriptor section: a descriptor that is a socket

FdState = dict[int, str] | None


class Descriptors(StateKind[FdState]):
    name = FD

    def take(self, ctx: Context) -> FdState:
        base = "/proc/self/fd"
        if not os.path.isdir(base):
            return None
        out = {}
        for name in os.listdir(base):
            try:
                out[int(name)] = os.readlink(f"{base}/{name}")
            except OSError:
                continue  # the descriptor os.listdir itself used, already closed
        return out

    def diff(self, before: FdState, after: FdState, ctx: Context) -> list[Change]:
        if before is None or after is None:
            return []
        changes = []
        sockets: dict[str, str] | None = None
        for fd in sorted(after):
            target = after[fd]
            if before.get(fd) == target:
                continue
            if target.startswith("socket:["):
                if sockets is None:
                    sockets = _socket_table()
                inode = target[len("socket:["):-1]
                name = sockets.get(inode, target)
                changes.append(Change(SOCKET, name, "left-open", f"left open (fd {fd})",
                                      (*name.split(), "socket"), {"fd": str(fd)}))
            else:
                name = _display_path(target, ctx)
                changes.append(Change(FD, name, "left-open", f"left open (fd {fd})",
                                      (os.path.basename(target), name), {"fd": str(fd)}))
        for fd in sorted(set(before) - set(after)):
            name = _display_path(before[fd], ctx)
            changes.append(Change(FD, name, "closed", f"closed (fd {fd})", (name,),
                                  {"fd": str(fd)}))
        return changes


def _display_path(target: str, ctx: Context) -> str:
    for base, prefix in ((ctx.tmpdir, "$TMPDIR/"), (ctx.rootdir, "")):
        if target.startswith(base.rstrip("/") + "/"):
            return prefix + target[len(base.rstrip("/")) + 1:]
    return target


def _socket_table() -> dict[str, str]:
    """inode -> 'tcp 127.0.0.1:8080 LISTEN' from /proc/self/net, read only when needed."""
    out: dict[str, str] = {}
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/self/net/{proto}", encoding="ascii") as stream:
                lines = stream.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10:
                continue
            state = {"0A": " LISTEN", "01": " ESTABLISHED"}.get(cols[3], "") \
                if proto.startswith("tcp") else ""
            out[cols[9]] = f"{proto.rstrip('6')} {_address(cols[1])}{state}"
    try:
        with open("/proc/self/net/unix", encoding="utf-8", errors="replace") as stream:
            for line in stream.read().splitlines()[1:]:
                cols = line.split()
                if len(cols) >= 7:
                    out[cols[6]] = f"unix {cols[7]}" if len(cols) > 7 else "unix socket"
    except OSError:
        pass
    return out


def _address(hexaddr: str) -> str:
    host, _, port = hexaddr.partition(":")
    raw = bytes.fromhex(host)
    # /proc prints each 32-bit word in host (little-endian) order.
    ordered = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if len(ordered) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, ordered)}:{int(port, 16)}"
    return f"[{socket.inet_ntop(socket.AF_INET6, ordered)}]:{int(port, 16)}"
