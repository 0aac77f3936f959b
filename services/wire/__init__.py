"""The Redis wire contract: every key and stream name, the shape of every entry, and living
through the wire's outages. Ground floor: imports only the contract (``events``) and libraries."""
