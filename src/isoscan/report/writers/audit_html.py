"""The audit table and its collisions as one self-contained HTML page
(``isoscan audit --html FILE``)."""

from __future__ import annotations

from html import escape

from isoscan.audit.model import AuditReport
from isoscan.report.writers.audit_text import TABLE_HEAD, collisions, shared_not_seen, summary

_STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #bbb;padding:4px 8px;vertical-align:top;font-size:90%}"
          "th{background:#eee}code{font-size:90%}.hit{color:#b00}")


def _list(items: list[str]) -> str:
    return "<br>".join(f"<code>{escape(item)}</code>" for item in items)


def audit_html(report: AuditReport) -> str:
    counts, found = summary(report)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>isoscan audit</title>"
             f"<style>{_STYLE}</style></head><body><h1>isoscan audit</h1>",
             f"<p>{escape(counts)}<b>{escape(found)}</b>.</p>"]
    confirmed = collisions(report)
    if confirmed:
        parts.append("<h2>Collisions</h2><ul>")
        for c in confirmed:
            parts.append(f"<li class='hit'>victim <code>{escape(c.victim)}</code>, "
                         f"culprit <code>{escape(c.culprit)}</code><ul>")
            parts += [f"<li>{escape(detail)}</li>" for detail in c.details]
            if c.replay:
                parts.append(f"<li>replay: <code>{escape(c.replay)}</code></li>")
            parts.append("</ul></li>")
        parts.append("</ul>")
    parts.append("<h2>Shared resources</h2><table><tr>"
                 + "".join(f"<th>{escape(head)}</th>" for head in TABLE_HEAD) + "</tr>")
    for row in report.rows:
        collided = "<br>".join(f"<code>{escape(v)}</code> ← <code>{escape(c)}</code>"
                               for v, c in row.collisions)
        parts.append(f"<tr><td>{escape(row.text)}</td><td>{_list(row.writers)}</td>"
                     f"<td>{_list(row.readers)}</td><td>{_list(row.leave_data)}</td>"
                     f"<td>{collided}</td></tr>")
    parts.append("</table>")
    shared = shared_not_seen(report)
    if shared:
        parts.append("<h2>Shared, not seen to collide</h2><ul>")
        parts += [f"<li><code>{escape(first)}</code> × <code>{escape(second)}</code>: "
                  f"{escape(what)}</li>" for first, second, what in shared]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)
