"""The environment of a ``talkstream`` subprocess started by a test."""

from __future__ import annotations

import os

from services.settings import Settings


def talkstream_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """This process's environment without TALKSTREAM_*, then the settings' home, Redis and
    prefix, then ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALKSTREAM_")}
    return env | {
        "TALKSTREAM_HOME": str(settings.home),
        "TALKSTREAM_REDIS_URL": str(settings.redis_url),
        "TALKSTREAM_PREFIX": settings.prefix,
        **overrides,
    }
