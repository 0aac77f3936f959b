"""The exit codes of the ``talkstream`` command, decided here and nowhere else.

The errors carry a code and no exit code; ``EXIT_CODES`` maps each family of errors (the
nearest class in an error's MRO wins) to the exit code the command ends with, after one
``error: <code>: <message>`` line. A rejected batch ends as its refused event's cause. Errors
the command never meets are listed in ``NEVER_MET`` with the reason; any other error would
end with a traceback, so a test checks that every error class has a place here.
"""

from __future__ import annotations

from events.exceptions import ContractError, RegistryMismatch, TalkstreamError
from services.api.exceptions import ApiError, ChangesUnavailable
from services.audit.exceptions import AuditError, WatchFailed
from services.cli.exceptions import CliError
from services.client.exceptions import ClientError
from services.exceptions import InvalidSettings
from services.intake.exceptions import EntryRefused
from services.recorder.exceptions import BatchRejected, LogKeyProblem, RecorderError, StoreFault
from services.relay.exceptions import RelayError
from services.runtime.exceptions import RuntimeProblem, Unhealthy
from services.web.exceptions import PageError
from services.wire.exceptions import WireError

REFUSED = 1  # bad input or option, a broken rule, something not there, a failed check (audit)
USAGE = 2  # the command line does not parse (the command-line library's own exit code)
ENVIRONMENT = 3  # the store, Redis, the settings or the address cannot be used

EXIT_CODES: dict[type[TalkstreamError], int] = {
    ContractError: REFUSED,
    CliError: REFUSED,
    RecorderError: REFUSED,
    StoreFault: ENVIRONMENT,  # the store is unavailable, or a stored event is corrupted
    LogKeyProblem: ENVIRONMENT,  # the log's signing key (a setting or its file) is unusable
    ApiError: REFUSED,  # the keys file's problems
    RelayError: REFUSED,
    RuntimeProblem: ENVIRONMENT,
    Unhealthy: REFUSED,  # `talkstream health`: a failed check (healthchecks expect exit 1)
    InvalidSettings: ENVIRONMENT,
    AuditError: REFUSED,  # a bad bundle, a split view or rewritten history seen by the watcher
    WatchFailed: ENVIRONMENT,  # the watched log cannot be reached
    WireError: REFUSED,  # a webhook refused or unknown
}

NEVER_MET: dict[type[TalkstreamError], str] = {
    RegistryMismatch: "stops the import of the code, before any command runs",
    ClientError: "the Python client's, raised in publishers' own programs",
    EntryRefused: "the intake's, answered in its results and dead-letter streams",
    ChangesUnavailable: "the HTTP layer's, answered to a subscriber",
    PageError: "the page's, answered to a browser as an HTML page",
}

EPILOG = (
    f"Exit codes: 0 done; {REFUSED}: refused (bad input or option, a broken rule, nothing "
    f"there, a failed check); {USAGE}: the command line does not parse; {ENVIRONMENT}: the "
    "environment (the store, Redis, the settings or the address cannot be used: fix it and "
    "run the command again)."
)


def exit_code_of(error: TalkstreamError) -> int | None:
    """The exit code ``error`` ends the command with; None for an error not in the table."""
    if isinstance(error, BatchRejected) and isinstance(error.cause, TalkstreamError):
        return exit_code_of(error.cause)
    for family in type(error).__mro__:
        if family in EXIT_CODES:
            return EXIT_CODES[family]
    return None
