"""The write side: the Negotiation aggregate (eventsourcing), its invariants, the Negotiations
application, the store adapter, the audit check and the bundled scenario."""
