"""A consumer service: reads a negotiation's state, its events as of a date, and follows its
changes, with the reading client (services.client.Client).

Run `talkstream up --demo` (it prints a reader key when reads need one), then in another
terminal, with the virtual environment activated:

    TALKSTREAM_URL=http://127.0.0.1:8000 TALKSTREAM_KEY=tsk_... \\
        python docs/examples/read_changes.py us-iraq-jscd --changes 3

It prints the negotiation's status, how many events were known as of 2024-06, then one line
per view change (as many as --changes asks, or forever); a dropped connection is resumed from
the last change it printed.
"""

from __future__ import annotations

import argparse
import os

from services.client import Client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("negotiation")
    parser.add_argument("--changes", type=int, default=0, help="stop after N changes (0: never)")
    parser.add_argument("--as-of", default="2024-06")
    args = parser.parse_args()
    url = os.environ.get("TALKSTREAM_URL", "http://127.0.0.1:8000")
    with Client(url, key=os.environ.get("TALKSTREAM_KEY")) as client:
        now = client.view(args.negotiation)
        print(f"{args.negotiation}: {now.view['status']} at position {now.position}")
        known = client.events(args.negotiation, as_of=args.as_of)
        checked = all(event.hash_ok() for event in known)
        print(f"as of {args.as_of}: {len(known)} events, hashes {'ok' if checked else 'BAD'}")
        changes = client.subscribe(args.negotiation, "negotiation", last_event_id="0-0")
        for seen, change in enumerate(changes, start=1):
            print(f"change {change.id}: {change.projection} now at position {change.position}")
            if seen == args.changes:
                return


if __name__ == "__main__":
    main()
