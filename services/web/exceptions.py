"""Errors of the page's own, each with a stable ``code``; the page answers them (and the
API's, through ``PageSource.status``) as an HTML page with the status the API would give."""

from __future__ import annotations

from events.exceptions import TalkstreamError


class PageError(TalkstreamError):
    """Root of the page's errors."""


class InvalidFilter(PageError):
    """A filter or section name the page does not know (the message names the field)."""


class CrossSiteForm(PageError):
    """A key form posted from another site (its ``Origin`` is not this server's)."""
