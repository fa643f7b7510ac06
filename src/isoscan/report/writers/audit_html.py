"""The audit table and its collisions as one self-contained HTML page
(``isoscan audit --html FILE``)."""

from __future__ import annotations

from html import escape

from isoscan.audit.model import AuditReport, PairStatus

_STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #bbb;padding:4px 8px;vertical-align:top;font-size:90%}"
          "th{background:#eee}code{font-size:90%}.hit{color:#b00}")


def _list(items: list[str]) -> str:
    return "<br>".join(f"<code>{escape(item)}</code>" for item in items)


def audit_html(report: AuditReport) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>isoscan audit</title>"
             f"<style>{_STYLE}</style></head><body><h1>isoscan audit</h1>",
             f"<p>{report.collected} tests, {len(report.touched)} touch an outside resource; "
             f"{len(report.candidates)} candidate pairs; <b>{len(report.collisions)} "
             f"collisions confirmed</b>.</p>"]
    if report.collisions:
        parts.append("<h2>Collisions</h2><ul>")
        for result in report.collisions:
            culprit = result.polluters[0][0] if result.polluters else "?"
            parts.append(f"<li class='hit'>victim <code>{escape(result.victim)}</code>, "
                         f"culprit <code>{escape(culprit)}</code><ul>")
            answer = result.parallel
            if answer is not None:
                parts.append(f"<li>mechanism: {escape(answer.mechanism.value)}</li>")
                parts += [f"<li>{escape(s.text)}</li>" for s in answer.shared]
                parts += [f"<li>fix: {escape(h)}</li>" for h in answer.hints]
            parts.append(f"<li>{escape(result.note)}</li>")
            if result.reproduce:
                parts.append(f"<li>replay: <code>{escape(result.reproduce)}</code></li>")
            parts.append("</ul></li>")
        parts.append("</ul>")
    parts.append("<h2>Shared resources</h2><table><tr><th>resource</th><th>write</th>"
                 "<th>read</th><th>leave data</th><th>collided (victim ← culprit)</th></tr>")
    for row in report.rows:
        collided = "<br>".join(f"<code>{escape(v)}</code> ← <code>{escape(c)}</code>"
                               for v, c in row.collisions)
        parts.append(f"<tr><td>{escape(row.text)}</td><td>{_list(row.writers)}</td>"
                     f"<td>{_list(row.readers)}</td><td>{_list(row.leave_data)}</td>"
                     f"<td>{collided}</td></tr>")
    parts.append("</table>")
    shared = [c for c in report.candidates if c.status is PairStatus.SHARED]
    if shared:
        parts.append("<h2>Shared, not seen to collide</h2><ul>")
        parts += [f"<li><code>{escape(c.first)}</code> × <code>{escape(c.second)}</code></li>"
                  for c in shared]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)
