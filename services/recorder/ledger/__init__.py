"""The verifiable log over all events, kept in the event store beside them: the tree and
checkpoint tables, the log's signing key, the one writer, proofs and tiles, and the comparison
of the store with every signed checkpoint."""

from __future__ import annotations

from services.recorder.ledger.compare import (
    KINDS,
    LogFinding,
    TreeCheck,
    TreeReport,
    compare_checkpoints,
    stored_event,
)
from services.recorder.ledger.keys import load_signer, load_verifier
from services.recorder.ledger.log import ConsistencyProof, InclusionProof, Ledger, open_ledger
from services.recorder.ledger.tables import Leaf, LedgerTables, StoredCheckpoint
from services.recorder.ledger.writer import LogWriter, logged_hash

__all__ = [
    "KINDS",
    "ConsistencyProof",
    "InclusionProof",
    "Leaf",
    "Ledger",
    "LedgerTables",
    "LogFinding",
    "LogWriter",
    "StoredCheckpoint",
    "TreeCheck",
    "TreeReport",
    "compare_checkpoints",
    "load_signer",
    "load_verifier",
    "logged_hash",
    "open_ledger",
    "stored_event",
]
