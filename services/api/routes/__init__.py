"""The API's routers: writes, reads, audit, subscriptions and operations."""
