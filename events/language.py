"""BCP 47 language tags (RFC 5646), checked with the ``langcodes`` library."""

from __future__ import annotations

import re

import langcodes

_TAG_CHARACTERS = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")


def well_formed_tag(tag: str) -> str:
    """Returns ``tag`` if it is a valid BCP 47 tag; raises ValueError naming why not.

    ``langcodes.tag_is_valid`` parses the tag by RFC 5646's grammar and checks its subtags
    against the IANA registry; it also takes ``_`` for ``-``, which RFC 5646 does not, so
    the separator is checked first."""
    if not _TAG_CHARACTERS.match(tag):
        raise ValueError(
            f"{tag!r} is not a BCP 47 language tag: subtags of letters and digits joined by '-'"
        )
    if not langcodes.tag_is_valid(tag):
        raise ValueError(f"{tag!r} is not a valid BCP 47 language tag (e.g. 'ar', 'en-US')")
    return tag
