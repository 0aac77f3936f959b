"""A publishing service: records developments through the Redis intake stream.

Run `talkstream up` (it starts an embedded Redis on a port of its own and prints its URL), then
in another terminal, with the virtual environment activated:

    python docs/examples/publish_service.py

It publishes to TALKSTREAM_REDIS_URL if set, else to the Redis `talkstream redis-url` names.

Any language can do the same with plain Redis commands: XADD `talkstream:intake` an entry with
the field `event` (the JSON object), `reply_to` (a stream name) and optionally
`idempotency_key`, then XREAD the reply stream for the entry's result.
"""

from __future__ import annotations

import os
import subprocess
import sys

from services.client import IntakeClient, PublishRefused

NEGOTIATION = "example-talks"
SOURCE = [{"outlet": "Example Wire", "kind": "wire", "published_at": "2024-07-22"}]


def developments() -> list[dict[str, object]]:
    opened = {
        "type": "NegotiationOpened",
        "negotiation_id": NEGOTIATION,
        "occurred_at": "2024-07",
        "sources": SOURCE,
        "verification": "reported",
        "payload": {
            "title": "Example talks",
            "format": "bilateral",
            "issues": [{"issue_id": "ceasefire", "title": "Ceasefire"}],
        },
    }
    meeting = {
        "type": "MeetingHeld",
        "negotiation_id": NEGOTIATION,
        "occurred_at": "2024-07-22",
        "sources": SOURCE,
        "verification": "confirmed",
        "payload": {"meeting_id": "round-1", "mode": "third_party", "agenda": ["ceasefire"]},
    }
    return [opened, meeting]


def redis_url() -> str | None:
    """TALKSTREAM_REDIS_URL, else the URL of the Redis that `talkstream up` runs."""
    if os.environ.get("TALKSTREAM_REDIS_URL"):
        return os.environ["TALKSTREAM_REDIS_URL"]
    asked = subprocess.run(["talkstream", "redis-url"], capture_output=True, text=True, check=False)
    if asked.returncode != 0:
        sys.stderr.write(asked.stderr)
        return None
    return asked.stdout.strip()


def main() -> int:
    url = redis_url()
    if url is None:
        return 1
    prefix = os.environ.get("TALKSTREAM_PREFIX", "talkstream")
    with IntakeClient(url, prefix=prefix, timeout=30) as client:
        for number, event in enumerate(developments(), start=1):
            try:
                done = client.publish(event, idempotency_key=f"example/{number}")
            except PublishRefused as refused:
                print(f"refused: {refused.code}: {refused.message}", file=sys.stderr)
                return 1
            print(
                f"{event['type']}: position {done.position}, version {done.version}"
                f"{' (already recorded)' if done.duplicate else ''}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
