"""The ``talkstream`` command (top floor): commands in ``commands``, terminal rendering in
``render``."""

from __future__ import annotations

from services.cli.commands import app, main

__all__ = ["app", "main"]
