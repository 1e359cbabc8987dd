"""Checking the audit chain: find and locate edited, deleted, inserted and reordered entries.

Every entry's keyed hash covers its own sequence number and its predecessor's hash, so each stored row
proves where in the chain it was written. :func:`verify` recovers that true position for every row and
compares it with where the row is stored now; the differences say what was done and where.

Deleting the newest entries leaves a shorter chain that is still consistent; only a record of the head
kept elsewhere can show it. :mod:`izde.governance.audit_head` keeps such a record and :func:`check_head`
compares a chain with it.

Whoever holds the audit key can recompute every hash and so rewrite history undetectably by the checks above.
Witnesses defeat that: an export's manifest, kept by an oversight body, records the hash of its last entry;
:func:`check_witness` shows when the entry at that position no longer has it.
"""

from __future__ import annotations

import hmac
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from izde.governance.audit import GENESIS, Entry, entry_hash

Kind = Literal["edited", "deleted", "inserted", "reordered", "anchor", "rewritten", "witness"]
BROKEN_EXIT = 6  # exit status of 'izde audit verify' when the chain is broken
PURGE_ACTION = "retention.purge"
_WINDOW = 3  # neighbouring positions tried first for a row whose stored seq does not verify
_FULL_SEARCHES = 20  # rows for which every position is tried; bounds the cost on a wholesale rewrite
_FULL_MARGIN = 1000  # positions beyond the stored ones a full search tries (entries deleted and renumbered)


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None  # the stored seq where the problem shows (None: not tied to one entry)
    kind: Kind
    message: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    count: int
    problems: list[Problem] = field(default_factory=list)
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None


def _hash_at(e: Entry, key: bytes, seq: int) -> str:
    return entry_hash(
        key,
        seq=seq,
        at=e.at,
        actor=e.actor,
        action=e.action,
        subject_type=e.subject_type,
        subject_id=e.subject_id,
        details=e.details,
        prev_hash=e.prev_hash,
    )


def _proves(e: Entry, key: bytes, seq: int) -> bool:
    return hmac.compare_digest(_hash_at(e, key, seq), e.hash)


def _true_positions(rows: Sequence[Entry], key: bytes) -> list[int | None]:
    """For each row, the seq its keyed hash was made for, or None when no position verifies (edited/forged)."""
    by_hash = {e.hash: i for i, e in enumerate(rows)}
    by_prev = {e.prev_hash: i for i, e in enumerate(rows)}
    top = max((e.seq for e in rows), default=0) + len(rows) + _FULL_MARGIN
    out: list[int | None] = []
    shift, searches = 0, 0
    for i, e in enumerate(rows):
        candidates = [e.seq, e.seq + shift]
        pred = by_hash.get(e.prev_hash)
        if pred is not None and pred != i:
            p = out[pred] if pred < i else None
            candidates.append((p if p is not None else rows[pred].seq) + 1)
        succ = by_prev.get(e.hash)
        if succ is not None and succ != i:
            candidates.append(rows[succ].seq - 1)
        candidates += [e.seq + d for d in range(-_WINDOW, _WINDOW + 1) if d]
        found = next((s for s in dict.fromkeys(candidates) if s >= 1 and _proves(e, key, s)), None)
        if found is None and searches < _FULL_SEARCHES:
            # A renumbering after many deleted rows shifts positions far; one full search finds the shift.
            searches += 1
            found = next((s for s in range(1, top + 1) if _proves(e, key, s)), None)
        if found is not None:
            shift = found - e.seq
        out.append(found)
    return out


def chain_start(rows: Sequence[Entry], trusted: Sequence[bool]) -> int | None:
    """The seq the chain may legitimately start at after retention, from the newest intact purge entry."""
    for e, ok in zip(reversed(rows), reversed(trusted), strict=True):
        if ok and e.action == PURGE_ACTION:
            try:
                start = json.loads(e.details).get("audit_chain_starts_at")
            except (ValueError, AttributeError):
                return None
            return int(start) if isinstance(start, int) else None
    return None


def _span(a: int, b: int) -> str:
    return f"entry {a}" if a == b else f"entries {a}..{b}"


def verify(entries: Sequence[Entry], key: bytes) -> VerifyResult:
    """Check ``entries`` (as stored, in any order; they are taken in seq order) against ``key``."""
    rows = sorted(entries, key=lambda e: e.seq)
    if not rows:
        return VerifyResult(True, 0)
    true = _true_positions(rows, key)
    problems: list[Problem] = []
    # Effective position of each row in the original chain; edited rows keep the slot they hold in it,
    # inserted rows have none.
    eff: list[int | None] = [None] * len(rows)
    seen: dict[int, int] = {}
    for i, (e, t) in enumerate(zip(rows, true, strict=True)):
        prev = rows[i - 1] if i else None
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if t is None:
            skipped = nxt is not None and (nxt.prev_hash == (prev.hash if prev else GENESIS))
            linked = nxt is not None and nxt.prev_hash == e.hash
            if skipped and not linked:
                problems.append(Problem(e.seq, "inserted", f"entry {e.seq} was inserted: the chain links past it"))
                continue
            problems.append(
                Problem(e.seq, "edited", f"entry {e.seq} ({e.action}) does not match its keyed hash: it was changed")
            )
            last = next((x for x in reversed(eff[:i]) if x is not None), None)
            eff[i] = (last + 1) if last is not None else e.seq
            continue
        if t in seen:
            problems.append(
                Problem(e.seq, "inserted", f"entry {e.seq} is a copy of entry {t} (stored at {rows[seen[t]].seq})")
            )
            continue
        seen[t] = i
        eff[i] = t

    placed = [(i, t) for i, t in enumerate(eff) if t is not None]
    # Reordered: rows whose original position is out of order with their stored neighbours.
    moved = set()
    for k, (i, t) in enumerate(placed):
        before = placed[k - 1][1] if k else None
        after = placed[k + 1][1] if k + 1 < len(placed) else None
        if t != rows[i].seq and ((before is not None and t < before) or (after is not None and t > after)):
            moved.add(i)
            problems.append(Problem(rows[i].seq, "reordered", f"entry {t} of the chain is stored at seq {rows[i].seq}"))

    trusted = [t is not None and t == e.seq for e, t in zip(rows, true, strict=True)]
    first = placed[0][1] if placed else None
    allowed = chain_start(rows, trusted)
    if first is not None and first != 1 and first != allowed:
        lo = allowed if allowed is not None and allowed < first else 1
        problems.append(Problem(lo, "deleted", f"{_span(lo, first - 1)} at the start of the chain are missing"))
    present = sorted(t for _, t in placed)
    for a, b in itertools.pairwise(present):
        if b > a + 1:
            at = next(rows[i].seq for i, t in placed if t == b)
            problems.append(
                Problem(a + 1, "deleted", f"{_span(a + 1, b - 1)} are missing (the chain resumes at stored seq {at})")
            )

    # Rows in order but under another seq were renumbered, e.g. to close the gap left by a deletion.
    renumbered = [(rows[i].seq, t) for i, t in placed if t != rows[i].seq and i not in moved]
    if renumbered:
        start, t0 = renumbered[0]
        kind: Kind = "deleted" if t0 > start else "inserted"
        note = f"{len(renumbered)} later entries were renumbered by {start - t0:+d} to hide it"
        near = next((k for k, p in enumerate(problems) if p.kind == kind and abs((p.seq or 0) - start) <= 1), None)
        if near is not None:
            p = problems[near]
            problems[near] = Problem(p.seq, p.kind, f"{p.message}; {note}")
        else:
            problems.append(
                Problem(start, kind, f"entries from stored seq {start} on are renumbered (entry {t0} is at {start})")
            )

    problems.sort(key=lambda p: (p.seq if p.seq is not None else 0, p.kind))
    last_row = rows[-1]
    return VerifyResult(not problems, len(rows), problems, rows[0].seq, last_row.seq, last_row.hash)


def check_head(rows: Sequence[Entry], head_seq: int, head_hash: str, anchor: str = "the head anchor") -> list[Problem]:
    """Compare a chain with the head recorded after the newest commit: entries deleted from the end, or a
    rewritten entry at the head, show here and nowhere else. An empty chain after a recorded head is a wipe."""
    by_seq = {e.seq: e for e in rows}
    last = max(by_seq, default=0)
    if not rows:
        return [Problem(None, "deleted", f"the chain is empty but {anchor} records entry {head_seq}: it was wiped")]
    if head_seq > last:
        return [
            Problem(
                last or None,
                "deleted",
                f"{_span(last + 1, head_seq)} at the end of the chain are missing ({anchor} records {head_seq})",
            )
        ]
    at = by_seq.get(head_seq)
    if at is None:
        return [Problem(head_seq, "deleted", f"entry {head_seq}, recorded in {anchor}, is missing")]
    if not hmac.compare_digest(at.hash, head_hash):
        # verify() reports a changed row by itself; an intact row under the head's seq is a newer entry
        # written after the newest entries were deleted.
        return [
            Problem(
                head_seq,
                "deleted",
                f"entry {head_seq} recorded by {anchor} was deleted and its seq reused by a later entry: "
                "newest entries were removed at the end of the chain",
            )
        ]
    return []


@dataclass(frozen=True, slots=True)
class Witness:
    """An entry's position and hash as recorded outside the deployment (e.g. by an oversight body)."""

    seq: int
    hash: str
    source: str  # where it was read from, for the report


def read_witness(text: str, source: str) -> Witness:
    """A witness from an export manifest (the chain's head at export, else its last exported entry) or from
    ``{"seq": N, "hash": "..."}``."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f"{source} is not JSON: give the manifest written by 'izde audit export'") from None
    if not isinstance(data, dict):
        raise ValueError(f"{source} is not a JSON object")
    if data.get("head_seq") is not None:
        seq, entry = data.get("head_seq"), data.get("head_hash")
    elif "last_seq" in data:
        seq, entry = data.get("last_seq"), data.get("last_hash")
    else:
        seq, entry = data.get("seq"), data.get("hash")
    if not (isinstance(seq, int) and seq > 0 and isinstance(entry, str) and len(entry) == 64):
        raise ValueError(f"{source} holds no entry position and hash (an empty export witnesses nothing)")
    return Witness(seq, entry, source)


def check_witness(rows: Sequence[Entry], witness: Witness) -> list[Problem]:
    """The entry at the witnessed position must still carry the witnessed hash."""
    at = next((e for e in rows if e.seq == witness.seq), None)
    if at is None:
        if rows and rows[0].seq > witness.seq:
            return []  # removed by retention since; the purge record and chain_start account for it
        return [Problem(None, "witness", f"entry {witness.seq}, recorded by {witness.source}, is missing")]
    if not hmac.compare_digest(at.hash, witness.hash):
        return [
            Problem(
                witness.seq,
                "rewritten",
                f"entry {witness.seq} differs from the one {witness.source} recorded: the chain up to it was "
                "rewritten, by someone holding the audit key",
            )
        ]
    return []
