"""Rich rendering of views for the terminal. Presentation only.

Recorded text is whatever publishers sent, so it reaches the terminal only through ``text``
(or ``visible``): control characters and bidirectional overrides are shown as escapes, and
rich markup in the data stays literal text. The stored data is never changed; ``json_text``
keeps JSON output valid and equal to what was recorded, with the same characters escaped.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from events.wire import ActorWire
from projections.describe import due_text
from projections.diff import Change
from projections.grades import grade_of
from projections.implementation import agreement_scores
from projections.milestones import is_overdue
from projections.shapes import View
from projections.timeline import TimelineRow

_KEPT = "\n\t"  # line breaks and tabs only lay out a cell
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_HIDDEN = [
    *(chr(c) for c in range(0x20) if chr(c) not in _KEPT),
    *(chr(c) for c in range(0x7F, 0xA0)),  # DEL and the C1 controls (0x9b is CSI)
    *_BIDI,
    "\u2028",  # line and paragraph separators
    "\u2029",
]
_ESCAPED = str.maketrans(
    {c: (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in _HIDDEN}
)
_JSON_ESCAPED = str.maketrans({c: f"\\u{ord(c):04x}" for c in _HIDDEN})


def visible(value: object) -> str:
    """``value`` as text that cannot drive a terminal: ESC shows as ``\\x1b``, a right-to-left
    override as ``\\u202e``, and so on for every control and bidi character."""
    return str(value).translate(_ESCAPED)


def text(value: object, style: str = "") -> Text:
    """A table cell or line of recorded data: made visible, never parsed as markup."""
    return Text(visible(value), style=style)


def json_text(data: Any) -> str:
    """Indented JSON of ``data``; characters a terminal acts on are \\u-escaped (the encoder
    leaves C1, DEL and bidi controls raw), so it stays valid JSON of the same data."""
    return json.dumps(data, indent=2, ensure_ascii=False).translate(_JSON_ESCAPED)


def negotiation_panel(view: View, *, today: date, caption: str = "") -> Group:
    head = Table.grid(padding=(0, 2))
    title = view["title"] or "(nothing known at this point in time)"
    head.add_row(
        "Negotiation", Text.assemble(text(title, "bold"), text(f" ({view['negotiation_id']})"))
    )
    head.add_row("Status", text(view["status"], "bold"))
    head.add_row("Opened", text(view["opened_at"]))
    head.add_row("Version", text(f"{view['version']} (position {view['position']})"))
    if caption:
        head.add_row("Point in time", text(caption))
    parts: list[Any] = [Panel(head, title="talkstream")]
    for table in (
        _parties(view),
        _issues(view),
        _meetings(view),
        _statements(view),
        _demands(view),
        _proposals(view),
        _agreements(view),
        _milestones(view, today),
        _context(view),
        _corrections(view),
    ):
        if table.row_count:
            parts.append(table)
    return Group(*parts)


def _parties(v: View) -> Table:
    t = Table("Party", "Role", "Delegation head", "Members", title="Parties", title_justify="left")
    for name, party in v["parties"].items():
        delegation = v["delegations"].get(party.get("delegation") or "")
        head = _person(delegation["head"]) if delegation else ""
        members = ", ".join(m["name"] for m in delegation["members"]) if delegation else ""
        role = party["role"] + ("" if party["active"] else " (left)")
        t.add_row(*_cells(name, role, head, members))
    return t


def _issues(v: View) -> Table:
    t = Table("Issue", "Title", "Positions", title="Issues", title_justify="left")
    for issue_id, issue in v["issues"].items():
        positions = "; ".join(
            f"{party}: {p['position']} ({p['occurred_at']})"
            for party, p in issue["positions"].items()
        )
        t.add_row(*_cells(issue_id, issue["title"], positions))
    return t


def _meetings(v: View) -> Table:
    t = Table("Meeting", "When", "Where", "Status", title="Meetings", title_justify="left")
    for meeting_id, m in v["meetings"].items():
        when = m["occurred_at"] + (f" – {m['occurred_until']}" if m.get("occurred_until") else "")
        place = m.get("place")
        t.add_row(*_cells(meeting_id, when, place["name"] if place else m["mode"], m["status"]))
    return t


def _statements(v: View) -> Table:
    t = Table(
        "Statement", "When", "Speaker", "Said", "Marks", title="Statements", title_justify="left"
    )
    for statement_id, s in v["statements"].items():
        marks = ", ".join(k for k in ("withdrawn", "denied", "corrected") if s.get(k))
        t.add_row(
            *_cells(
                statement_id,
                s["occurred_at"],
                _person(s["speaker"]),
                s.get("quote") or s.get("paraphrase") or "",
                marks,
            )
        )
    return t


def _demands(v: View) -> Table:
    t = Table("When", "Who", "Demand", title="Demands", title_justify="left")
    for d in v["demands"].values():
        t.add_row(*_cells(d["occurred_at"], d["actor"]["name"], d["demand"]))
    return t


def _proposals(v: View) -> Table:
    t = Table("Proposal", "By", "Fate", "Terms", title="Proposals", title_justify="left")
    for proposal_id, p in v["proposals"].items():
        t.add_row(*_cells(proposal_id, p["by"]["name"], p["fate"], len(p["terms"])))
    return t


def _agreements(v: View) -> Table:
    t = Table(
        "Agreement",
        "Form",
        "Status",
        "History",
        "Implementation",
        title="Agreements",
        title_justify="left",
    )
    scores = agreement_scores(v)
    for agreement_id, a in v["agreements"].items():
        history = " → ".join(f"{h['status']} ({h['occurred_at']})" for h in a["history"])
        form = a["form"] + (f"\nstage: {a['stage']}" if a.get("stage") else "")
        score = scores[agreement_id]["score"]
        shown = "no milestones" if score is None else f"{score:g} of 3"
        t.add_row(*_cells(f"{agreement_id}\n{a['title']}", form, a["status"], history, shown))
    return t


def _milestones(v: View, today: date) -> Table:
    t = Table("Milestone", "Obligor", "Due", "Status", title="Milestones", title_justify="left")
    for milestone_id, m in v["milestones"].items():
        status = text(f"{m['status']}, degree {m.get('degree', 0)}/3")
        if is_overdue(m, today):
            status.append(" (overdue)", style="red")
        t.add_row(
            *_cells(
                f"{milestone_id}\n{m['description']}", m["obligor"]["name"], due_text(m["due"])
            ),
            status,
        )
    return t


def _context(v: View) -> Table:
    t = Table("When", "Topic", "Note", title="Context", title_justify="left")
    for c in v["context"].values():
        t.add_row(*_cells(c["occurred_at"], c["topic"], c["text"]))
    return t


def _corrections(v: View) -> Table:
    t = Table(
        "Event", "Kind", "Target", "Fields", "Reason", title="Corrections", title_justify="left"
    )
    for c in v["corrections"]:
        t.add_row(
            *_cells(
                c["event_id"][:8],
                c["type"],
                c["target_event_id"][:8],
                ", ".join(c["fields"]),
                c["reason"],
            )
        )
    return t


def timeline_table(rows: list[TimelineRow], title: str) -> Table:
    t = Table(
        "When",
        "Pos",
        "Type",
        "Development",
        "Verification",
        "Sources",
        title=title,
        title_justify="left",
    )
    for r in rows:
        when = r["occurred_at"] + (f" – {r['occurred_until']}" if r["occurred_until"] else "")
        summary = text(r["summary"], "strike" if r["retracted"] else "")
        if r["corrected_by"]:
            summary.append(" (corrected)", style="yellow")
        if r["retracted"]:
            summary.append(" (retracted)", style="red")
        t.add_row(
            *_cells(when, r["position"], r["type"]),
            summary,
            *_cells(r["verification"], ", ".join(_graded(r))),
        )
    return t


def _graded(row: TimelineRow) -> list[str]:
    """Each source's outlet with its Admiralty grade, e.g. ``U.S. Department of Defense (B1)``."""
    out = []
    for source in row.get("source_details") or []:
        grade = grade_of(source)
        out.append(f"{source['outlet']} ({grade})" if grade else source["outlet"])
    return out or row["sources"]


def _cells(*values: object) -> list[Text]:
    return [text(v) for v in values]


def _person(actor: ActorWire) -> str:
    return f"{actor['name']}, {actor['office']}" if actor.get("office") else str(actor["name"])


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=False)


def diff_table(changes: list[Change], title: str) -> Table:
    t = Table("Section", "Entry", "Change", "Caused by", title=title, title_justify="left")
    for c in changes:
        style = {"added": "green", "removed": "red"}.get(c["change"], "yellow")
        t.add_row(
            *_cells(c["section"], c["id"]),
            text(c["change"], style),
            text(", ".join(e[:8] for e in c["events"])),
        )
    return t


def keys_table(rows: list[dict[str, Any]]) -> Table:
    t = Table("Id", "Name", "Role", "Created", "Revoked", title="API keys", title_justify="left")
    for r in rows:
        t.add_row(
            *_cells(r["key_id"], r["name"], r["role"], r["created_at"], r["revoked_at"] or "")
        )
    return t
