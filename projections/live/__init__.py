"""Adapters around the pure reducers: projection states in Redis (tracked position, generation,
parking), the appliers that feed them from ``<prefix>:events``, rebuilds and FastStream workers."""
