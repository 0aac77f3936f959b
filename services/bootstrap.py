"""The one place that builds the application (and later the clients) from settings."""

from __future__ import annotations

from eventsourcing.persistence import PersistenceError

from services.recorder.application import Negotiations
from services.recorder.exceptions import StoreUnavailable
from services.recorder.store import eventsourcing_env
from services.runtime.settings import Settings


def build_application(settings: Settings) -> Negotiations:
    try:
        return Negotiations(env=eventsourcing_env(settings))
    except (OSError, PersistenceError) as e:
        where = settings.events_db if settings.store == "sqlite" else "PostgreSQL"
        raise StoreUnavailable(
            "store_unavailable", f"cannot open the {settings.store} event store at {where}: {e}"
        ) from e
