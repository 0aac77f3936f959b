"""The composition: builds the application, the API context and the workers from settings and
runs them (``up`` in one process, or ``api``, ``relay``, ``intake``, ``project`` apart), with
the embedded Redis and the repair of a diverged stream (docs/architecture.md)."""
