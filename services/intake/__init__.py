"""The intake: a FastStream app (a poller on Redis Cluster) that records developments written to
``<prefix>:intake``, answers on a reply stream, and dead-letters what it cannot record, with
the reason."""
