"""The webhook receiver the deliverer tests post to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhook_target import Received, webhook_target


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    with webhook_target() as target:
        yield target
