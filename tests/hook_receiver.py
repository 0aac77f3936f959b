"""A webhook receiver run as its own process by the webhook tests: it answers each POST as its
plan says (``fail``: 500, ``stall``: answers only after ``--stall`` seconds, ``ok``: 204), then
as the mode written in ``<dir>/mode`` (``ok`` when absent), and appends every request it answered
2xx to ``<dir>/received.jsonl`` and every request to ``<dir>/attempts.jsonl``.

    python tests/hook_receiver.py PORT DIR [--plan fail,stall,ok] [--stall SECONDS]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--plan", default="")
    parser.add_argument("--stall", type=float, default=3.0)
    args = parser.parse_args()
    plan = [p for p in args.plan.split(",") if p]
    lock = threading.Lock()

    def next_mode() -> str:
        with lock:
            if plan:
                return plan.pop(0)
        mode_file = args.dir / "mode"
        return mode_file.read_text().strip() if mode_file.exists() else "ok"

    def log(name: str, record: dict[str, object]) -> None:
        with lock, (args.dir / name).open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            mode = next_mode()
            record = {
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode(),
                "mode": mode,
            }
            log("attempts.jsonl", record)
            if mode == "stall":
                time.sleep(args.stall)
            if mode == "ok":
                log("received.jsonl", record)
                self.send_response(204)
            else:
                self.send_response(500)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    (args.dir / "ready").write_text("yes")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
