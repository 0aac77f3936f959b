"""Makes folds.json.gz with the code of commit 2c29aeb (every type at schema version 1 but
ContextNoted at 2), run from a checkout of that commit:

    PYTHONPATH=. python /path/to/generate.py /path/to/folds.json.gz

It records histories of version 1 events (the legacy store's, and generated ones that use
every field the versions 2 changed: meeting locations, corrections of locations, quotes,
agreements of every form and their statuses, milestones) with what each projection rendered
from them then (today = 2026-01-01). tests/unit/events/test_v1_folds.py checks that the
current code still folds them to the same.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from events import Envelope
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.recorder.exceptions import RecorderError
from services.recorder.store import MEMORY_ENV
from tests import factories as f

TODAY = date(2026, 1, 1)
FORMS = ["joint_statement", "mou", "treaty", "exchange_of_notes", "other"]
STATUSES = ["initialled", "signed", "ratified", "in_force", "suspended", "in_force", "terminated"]
DAYS = ["2024", "2024-08", "2024-08-05", "2024-09-27", "2024-10", "2025-01-15T10:00:00Z"]
READOUT = {"outlet": "Ministry", "kind": "official_readout", "url": "https://example.org/r"}
SOURCES = [[f.SOURCE], [{**READOUT, "excerpt": "Readout."}, f.SOURCE]]
VERIFICATIONS = ["reported", "confirmed", "disputed", "denied"]
LEGACY = Path(__file__).parent.parent / "legacy-store" / "read-back.json"


class Maker:
    """Candidate next events of a generated history, steered by one random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def env(self) -> dict[str, Any]:
        r = self.rng
        return {
            "occurred_at": r.choice(DAYS),
            "sources": r.choice(SOURCES),
            "verification": r.choice(VERIFICATIONS),
        }

    def event(self, kind: str, payload: dict[str, Any]) -> Envelope:
        return f.draft(kind, payload, **self.env())

    def meeting(self, n: int) -> Envelope:
        r = self.rng
        where = {"location": r.choice(["The Pentagon, Washington", "Baghdad"])}
        payload = {"meeting_id": f"mt{n % 5}", "mode": "host", "agenda": ["transition"]}
        kind = r.choice(["MeetingScheduled", "MeetingHeld"])
        return self.event(kind, {**payload, **(where if r.random() < 0.7 else {})})

    def statement(self, n: int) -> Envelope:
        said = {"quote": "We are talking."} if self.rng.random() < 0.5 else {"paraphrase": "On."}
        speaker = {"name": "Pat Ryder", "office": "Press"}
        stances = [{"issue_id": "timeline", "position": "support"}]
        payload = {"statement_id": f"s{n}", "speaker": speaker, **said, "stances": stances}
        return self.event("StatementIssued", payload)

    def agreement(self, a: str) -> Envelope:
        term = {"term_id": "t1", "issue_id": "transition", "text": "Do it."}
        payload = {"agreement_id": a, "title": f"Agreement {a}", "parties": [f.IRAQ]}
        form = self.rng.choice(FORMS)
        return self.event("AgreementReached", {**payload, "form": form, "terms": [term]})

    def status(self, a: str, history: list[Any]) -> Envelope:
        done = sum(
            1
            for e in history
            if e.type == "AgreementStatusChanged" and e.wire["payload"]["agreement_id"] == a
        )
        new = STATUSES[min(6, done + self.rng.randrange(2))]
        return self.event("AgreementStatusChanged", {"agreement_id": a, "status": new})

    def candidates(self, app: Negotiations, n: int) -> list[Callable[[], Envelope]]:
        r, history = self.rng, app.history(f.NID)
        a, m = f"ag{n % 2}", f"ms{n % 3}"
        due = {"kind": "not_later_than", "date": "2025-09-30"}
        milestone = {"milestone_id": m, "agreement_id": a, "obligor": f.IRAQ}
        evidence = {"evidence": "Seen."} if r.random() < 0.5 else {}
        quantity = {"value": 2500, "approximate": True}
        position = {"party": f.IRAQ, "issue_id": "timeline", "position": "oppose", "text": "No."}
        cancelled = {"meeting_id": f"mt{n % 5}", "mode": "phone", "location": "Rome"}
        options: list[Callable[[], Envelope]] = [
            lambda: self.meeting(n),
            lambda: self.event("MeetingCancelled", cancelled),
            lambda: self.statement(n),
            lambda: self.agreement(a),
            lambda: self.status(a, history),
            lambda: self.event(
                "MilestoneScheduled", {**milestone, "description": "Step.", "due": due}
            ),
            lambda: self.event(
                r.choice(["MilestoneMet", "MilestoneMissed"]), {"milestone_id": m, **evidence}
            ),
            lambda: self.event(
                "MilestoneRescheduled",
                {"milestone_id": m, "new_due": {"kind": "on", "date": "2026-01"}},
            ),
            lambda: self.event(
                "ContextNoted", {"topic": "Troops", "text": f"note {n}", "quantity": quantity}
            ),
            lambda: self.event("PositionStated", position),
            lambda: self.event("DemandMade", {"actor": f.UK, "demand": "Leave."}),
            lambda: f.talks(r.choice(["TalksSuspended", "TalksResumed"])),
        ]
        options.extend(self.corrections(history, n))
        return options

    def corrections(self, history: list[Any], n: int) -> list[Callable[[], Envelope]]:
        r = self.rng
        fixed = ("EventCorrected", "EventRetracted", "NegotiationOpened")
        targets = [e.event_id for e in history if e.type not in fixed]
        meetings = [e.event_id for e in history if e.type.startswith("Meeting")]
        notes = [e.event_id for e in history if e.type == "ContextNoted"]
        out: list[Callable[[], Envelope]] = []
        if targets:
            retracted = r.choice(targets)
            out.append(lambda: f.retraction(retracted))
        if meetings:
            moved = r.choice(meetings)
            patch = {"location": r.choice(["Erbil", None]), "level": "senior officials"}
            out.append(lambda: f.correction(moved, patch))
        if notes:
            noted = r.choice(notes)
            out.append(lambda: f.correction(noted, {"text": f"corrected {n}"}))
        return out


def generated(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    maker = Maker(rng)
    app = Negotiations(env=MEMORY_ENV)
    app.record_many(f.started(), principal="p")
    for n in range(rng.randrange(60, 120)):
        with contextlib.suppress(RecorderError):  # a refused event stores nothing
            app.record(rng.choice(maker.candidates(app, n))(), principal="p")
    return [e.wire for e in app.history(f.NID)]


def legacy() -> list[dict[str, Any]]:
    by_negotiation: dict[str, list[dict[str, Any]]] = {}
    for e in json.loads(LEGACY.read_text("utf-8")):
        wire = {**json.loads(e["body"]), "hash": e["hash"], "position": e["position"]}
        by_negotiation.setdefault(wire["negotiation_id"], []).append(wire)
    return [
        {"name": f"legacy-store {nid}", "events": wires}
        for nid, wires in sorted(by_negotiation.items())
    ]


def main(target: str) -> None:
    histories = legacy()
    histories += [{"name": f"generated {seed}", "events": generated(seed)} for seed in range(6)]
    for h in histories:
        h["renders"] = {
            name: p.render(p.apply(None, h["events"]), TODAY) for name, p in PROJECTIONS.items()
        }
    with gzip.open(target, "wt", encoding="utf-8") as out:
        data = {"today": TODAY.isoformat(), "histories": histories}
        json.dump(data, out, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1])
