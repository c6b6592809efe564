"""The audit log: append-only, each entry chained to the one before by SHA-256.

An entry's hash is SHA-256 over the previous entry's hash and the entry's canonical JSON
(seq, time, kind and payload, keys sorted, no spaces). Changing, removing or reordering any
entry breaks every hash after it, and :func:`verify` names the first entry that no longer fits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from returns_kit.ledger.clock import stamp

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, seq: int, at: str, kind: str, payload: str) -> str:
    content = canonical({"seq": seq, "at": at, "kind": kind, "payload": json.loads(payload)})
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def append(
    collection: Any, kind: str, payload: dict[str, Any], at: datetime, head: Any = None
) -> Any:
    """Append one entry. The caller holds the chain head locked (see service.writing) and
    may pass it: it is then advanced in memory, and the caller saves it before the commit."""
    from returns_kit.ledger.models import AuditEntry, ChainHead

    held = head is not None
    if head is None:
        head = ChainHead.objects.get(collection=collection)
    seq = head.seq + 1
    text = canonical(payload)
    digest = entry_hash(head.hash, seq, stamp(at), kind, text)
    entry = AuditEntry.objects.create(
        collection=collection,
        seq=seq,
        at=at,
        kind=kind,
        payload=text,
        prev_hash=head.hash,
        hash=digest,
    )
    head.seq, head.hash = seq, digest
    if not held:
        head.save(update_fields=["seq", "hash"])
    return entry


@dataclass(frozen=True)
class Broken:
    seq: int
    why: str


def entries(collection: Any) -> Iterator[Any]:
    from returns_kit.ledger.models import AuditEntry

    yield from AuditEntry.objects.filter(collection=collection).order_by("seq").iterator()


def verify(collection: Any) -> tuple[int, Broken | None]:
    """(entries checked, the first broken entry or None)."""
    from returns_kit.ledger.models import ChainHead

    previous, expected_seq, count = GENESIS, 1, 0
    for entry in entries(collection):
        count += 1
        if entry.seq != expected_seq:
            return count, Broken(expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != previous:
            return count, Broken(
                entry.seq, "its previous-entry hash does not match the entry before"
            )
        try:
            digest = entry_hash(previous, entry.seq, stamp(entry.at), entry.kind, entry.payload)
        except ValueError:
            return count, Broken(entry.seq, "its payload is not valid JSON")
        if digest != entry.hash or canonical(json.loads(entry.payload)) != entry.payload:
            return count, Broken(entry.seq, "its content does not match its hash")
        previous, expected_seq = entry.hash, expected_seq + 1
    head = ChainHead.objects.get(collection=collection)
    if head.seq != expected_seq - 1 or head.hash != previous:
        return count, Broken(
            expected_seq,
            f"the log ends at entry {expected_seq - 1} but "
            f"the chain head records entry {head.seq}: entries were removed",
        )
    return count, None
