"""The auditor's tools: full verification (store, log, stream, views), the offline bundle
(export and verify), the witness that watches a log's checkpoints, and replays of a
negotiation as it was known."""
