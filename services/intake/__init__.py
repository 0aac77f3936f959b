"""The intake: a FastStream app that records developments written to ``<prefix>:intake``, answers
on a reply stream, and dead-letters what it cannot record, with the reason."""
