"""The relay: follows the store's notification log in order and publishes every event to the
Redis stream ``<prefix>:events`` with the entry ID ``<position>-0``."""
