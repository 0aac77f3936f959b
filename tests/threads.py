"""Threads for tests: run something in the background and keep its result or exception."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Background(threading.Thread):
    """A thread that keeps its result or exception for the test to check."""

    def __init__(self, target: Callable[..., object], *args: object, **kwargs: object) -> None:
        super().__init__(daemon=True)
        self._call = (target, args, kwargs)
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        target, args, kwargs = self._call
        try:
            self.result = target(*args, **kwargs)
        except BaseException as e:
            self.error = e

    def outcome(self, timeout: float = 120.0) -> object:
        self.join(timeout)
        assert not self.is_alive(), "background thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result
