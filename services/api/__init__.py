"""The HTTP API (FastAPI): publish, query, audit and subscribe under ``/v1``, with API keys and
roles, request limits, health, readiness and Prometheus metrics."""
