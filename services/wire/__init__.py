"""The Redis wire contract: every key and stream name, the shape of every entry (typed models
with encode and decode), consumer groups, the AsyncAPI document generated from them, and living
through the wire's outages. Ground floor: imports only the contract (``events``) and
libraries."""
