"""Group commit: concurrent single-event writes share one transaction.

Writers call ``GroupCommit.submit`` from their own threads. The first writer to arrive while
no commit is running becomes the leader and commits its write at once: a lone writer waits
for nobody. Writers that arrive while a commit runs queue up; when it ends, the first of them
leads the next commit and takes everything queued by then (at most ``limit``), so the window
of a group is exactly the duration of the commit before it. The leader hands every writer of
its group its own answer (a result or an error); what a group does with a refused write (it
refuses that write alone) is the ``commit`` function's (see ``Negotiations._commit_group``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Ask = TypeVar("Ask")
Answer = TypeVar("Answer")


@dataclass
class Slot(Generic[Ask, Answer]):
    """One queued write and, once its group committed, its answer or its error."""

    ask: Ask
    answer: Answer | None = None
    error: BaseException | None = None
    leads: bool = False
    done: bool = False
    wake: threading.Event = field(default_factory=threading.Event)

    def settle(self, answer: Answer | None = None, error: BaseException | None = None) -> None:
        self.answer, self.error, self.done = answer, error, True
        self.wake.set()


Commit = Callable[[list[Slot[Ask, Answer]]], None]
"""Settles every slot of a group (each with its answer or its error)."""


class GroupCommit(Generic[Ask, Answer]):
    """Leader/follower queue of writes; ``commit`` runs in the leader's thread, one group at
    a time. ``groups`` and ``largest`` count what was committed (for tests and benches)."""

    def __init__(self, commit: Commit[Ask, Answer], *, limit: int = 256) -> None:
        self._commit = commit
        self._limit = limit
        self._lock = threading.Lock()
        self._queue: list[Slot[Ask, Answer]] = []
        self._busy = False
        self.groups = 0
        self.largest = 0

    @property
    def waiting(self) -> int:
        """Writes queued behind the commit that runs now."""
        with self._lock:
            return len(self._queue)

    def submit(self, ask: Ask) -> Answer:
        slot: Slot[Ask, Answer] = Slot(ask)
        with self._lock:
            if self._busy:
                self._queue.append(slot)
            else:
                self._busy = slot.leads = True
        if not slot.leads:
            slot.wake.wait()
            slot.wake.clear()
        if not slot.done:  # woken to lead the next group (its own write included)
            self._lead(slot)
        if slot.error is not None:
            raise slot.error
        return slot.answer  # type: ignore[return-value]  # settled with an answer

    def _lead(self, slot: Slot[Ask, Answer]) -> None:
        with self._lock:
            group = [slot, *self._queue[: self._limit - 1]]
            del self._queue[: self._limit - 1]
        try:
            self._commit(group)
        except BaseException as error:  # the commit itself broke: every writer learns why
            for other in group:
                if not other.done:
                    other.settle(error=error)
            raise
        finally:
            self.groups += 1
            self.largest = max(self.largest, len(group))
            self._hand_over()

    def _hand_over(self) -> None:
        with self._lock:
            if not self._queue:
                self._busy = False
                return
            following = self._queue.pop(0)
        following.leads = True
        following.wake.set()
