"""Rich rendering of views for the terminal. Presentation only."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from projections.describe import due_text
from projections.milestones import is_overdue


def negotiation_panel(view: dict[str, Any], *, today: date, caption: str = "") -> Group:
    head = Table.grid(padding=(0, 2))
    title = view["title"] or "(nothing known at this point in time)"
    head.add_row("Negotiation", f"[bold]{title}[/] ({view['negotiation_id']})")
    head.add_row("Status", f"[bold]{view['status']}[/]")
    head.add_row("Opened", str(view["opened_at"]))
    head.add_row("Version", f"{view['version']} (position {view['position']})")
    if caption:
        head.add_row("Point in time", caption)
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


def _parties(v: dict[str, Any]) -> Table:
    t = Table("Party", "Role", "Delegation head", "Members", title="Parties", title_justify="left")
    for name, party in v["parties"].items():
        delegation = v["delegations"].get(party.get("delegation") or "", {})
        head = delegation.get("head", {})
        members = ", ".join(m["name"] for m in delegation.get("members", []))
        role = party["role"] + ("" if party["active"] else " (left)")
        t.add_row(name, role, _person(head) if head else "", members)
    return t


def _issues(v: dict[str, Any]) -> Table:
    t = Table("Issue", "Title", "Positions", title="Issues", title_justify="left")
    for issue_id, issue in v["issues"].items():
        positions = "; ".join(
            f"{party}: {p['position']} ({p['occurred_at']})"
            for party, p in issue["positions"].items()
        )
        t.add_row(issue_id, issue["title"], positions)
    return t


def _meetings(v: dict[str, Any]) -> Table:
    t = Table("Meeting", "When", "Where", "Status", title="Meetings", title_justify="left")
    for meeting_id, m in v["meetings"].items():
        when = m["occurred_at"] + (f" – {m['occurred_until']}" if m.get("occurred_until") else "")
        t.add_row(meeting_id, when, m.get("location") or m["mode"], m["status"])
    return t


def _statements(v: dict[str, Any]) -> Table:
    t = Table(
        "Statement", "When", "Speaker", "Said", "Marks", title="Statements", title_justify="left"
    )
    for statement_id, s in v["statements"].items():
        marks = ", ".join(k for k in ("withdrawn", "denied", "corrected") if s.get(k))
        t.add_row(
            statement_id,
            s["occurred_at"],
            _person(s["speaker"]),
            s.get("quote") or s.get("paraphrase") or "",
            marks,
        )
    return t


def _demands(v: dict[str, Any]) -> Table:
    t = Table("When", "Who", "Demand", title="Demands", title_justify="left")
    for d in v["demands"].values():
        t.add_row(d["occurred_at"], d["actor"]["name"], d["demand"])
    return t


def _proposals(v: dict[str, Any]) -> Table:
    t = Table("Proposal", "By", "Fate", "Terms", title="Proposals", title_justify="left")
    for proposal_id, p in v["proposals"].items():
        t.add_row(proposal_id, p["by"]["name"], p["fate"], str(len(p["terms"])))
    return t


def _agreements(v: dict[str, Any]) -> Table:
    t = Table("Agreement", "Form", "Status", "History", title="Agreements", title_justify="left")
    for agreement_id, a in v["agreements"].items():
        history = " → ".join(f"{h['status']} ({h['occurred_at']})" for h in a["history"])
        t.add_row(f"{agreement_id}\n{a['title']}", a["form"], a["status"], history)
    return t


def _milestones(v: dict[str, Any], today: date) -> Table:
    t = Table("Milestone", "Obligor", "Due", "Status", title="Milestones", title_justify="left")
    for milestone_id, m in v["milestones"].items():
        status = m["status"] + (" [red](overdue)[/]" if is_overdue(m, today) else "")
        t.add_row(
            f"{milestone_id}\n{m['description']}", m["obligor"]["name"], due_text(m["due"]), status
        )
    return t


def _context(v: dict[str, Any]) -> Table:
    t = Table("When", "Topic", "Note", title="Context", title_justify="left")
    for c in v["context"].values():
        t.add_row(c["occurred_at"], c["topic"], c["text"])
    return t


def _corrections(v: dict[str, Any]) -> Table:
    t = Table(
        "Event", "Kind", "Target", "Fields", "Reason", title="Corrections", title_justify="left"
    )
    for c in v["corrections"]:
        t.add_row(
            c["event_id"][:8],
            c["type"],
            c["target_event_id"][:8],
            ", ".join(c["fields"]),
            c["reason"],
        )
    return t


def timeline_table(rows: list[dict[str, Any]], title: str) -> Table:
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
        summary = r["summary"] + (" [yellow](corrected)[/]" if r["corrected_by"] else "")
        if r["retracted"]:
            summary = f"[strike]{summary}[/] [red](retracted)[/]"
        t.add_row(
            when, str(r["position"]), r["type"], summary, r["verification"], ", ".join(r["sources"])
        )
    return t


def _person(actor: dict[str, Any]) -> str:
    return f"{actor['name']}, {actor['office']}" if actor.get("office") else str(actor["name"])


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=False)


def diff_table(changes: list[dict[str, Any]], title: str) -> Table:
    t = Table("Section", "Entry", "Change", "Caused by", title=title, title_justify="left")
    for c in changes:
        style = {"added": "green", "removed": "red"}.get(c["change"], "yellow")
        t.add_row(
            c["section"],
            str(c["id"]),
            f"[{style}]{c['change']}[/]",
            ", ".join(e[:8] for e in c["events"]),
        )
    return t


def keys_table(rows: list[dict[str, Any]]) -> Table:
    t = Table("Id", "Name", "Role", "Created", "Revoked", title="API keys", title_justify="left")
    for r in rows:
        t.add_row(r["key_id"], r["name"], r["role"], r["created_at"], r["revoked_at"] or "")
    return t
