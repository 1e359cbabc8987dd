"""Finding a row by the id (or an unambiguous prefix of it) that a user typed."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from izde.errors import InvalidInput, NotFound

MIN_PREFIX = 6  # shorter prefixes collide too often to be a safe way to name a record
MAX_LISTED = 10  # candidates listed in an ambiguity error

_HEX = re.compile(r"[0-9a-f]+")

T = TypeVar("T")


class AmbiguousReference(InvalidInput):
    """A reference (id prefix or name) matches more than one record."""

    def __init__(self, message: str, hint: str | None, candidates: Sequence[str]) -> None:
        super().__init__(message, hint)
        self.candidates = list(candidates)


def by_id_or_prefix(
    session: Session,
    model: type[T],
    id_column: InstrumentedAttribute[str],
    ref: str,
    *,
    what: str,
    describe: Callable[[T], str],
) -> T | None:
    """The row whose id is ``ref`` or starts with it (>= MIN_PREFIX hex digits); None if none."""
    key = ref.strip().lower()
    exact = session.get(model, key)
    if exact is not None:
        return exact
    if len(key) < MIN_PREFIX or not _HEX.fullmatch(key):
        return None
    rows = list(session.scalars(select(model).where(id_column.startswith(key)).limit(MAX_LISTED + 1)))
    if len(rows) > 1:
        raise ambiguous(what, ref, [describe(r) for r in rows], "give more characters of the id")
    return rows[0] if rows else None


def ambiguous(what: str, ref: str, candidates: list[str], hint: str) -> AmbiguousReference:
    shown = candidates[:MAX_LISTED]
    more = " and more" if len(candidates) > MAX_LISTED else ""
    return AmbiguousReference(f"'{ref}' matches several {what}s: " + "; ".join(shown) + more, hint, shown)


def not_found(what: str, ref: str, hint: str | None = None) -> NotFound:
    return NotFound(f"no {what} '{ref}'", hint)


def require(row: T | None, what: str, ref: str, hint: str | None = None) -> T:
    if row is None:
        raise not_found(what, ref, hint)
    return row
