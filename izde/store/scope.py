"""Organisations kept apart, in one place: a session opened for an organisation sees and writes only its rows.

Every model with the :class:`~izde.store.models.Owned` mixin belongs to one organisation. A scoped session adds
``organisation_id = <its organisation>`` to every ORM SELECT, UPDATE and DELETE that touches such a model (joins,
column selects, ``session.get`` and lazy loads included), and stamps new rows with its organisation. So another
organisation's row is simply absent: looking it up gives the ordinary "not found", never a refusal that would
confirm it exists, and no query written later can forget the filter.

The audit chain is deliberately not :class:`Owned`: it is appended and verified as one chain across
organisations; reading it filters by ``AuditEntry.organisation_id`` explicitly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria

from izde.errors import IzdeError
from izde.store.models import Owned

SCOPE_KEY = "izde.organisation_id"


class CrossOrganisationWrite(IzdeError):
    """A row of one organisation written through a session of another: a bug, never a user's mistake."""


def scope(session: Session, organisation_id: str) -> Session:
    """Make ``session`` see and write only ``organisation_id``'s rows; returns it."""
    if not organisation_id:
        raise ValueError("a scoped session needs an organisation id")
    session.info[SCOPE_KEY] = organisation_id
    event.listen(session, "do_orm_execute", _only_own_rows)
    event.listen(session, "before_flush", _stamp_new_rows)
    return session


def organisation_of(session: Session) -> str | None:
    """The organisation a session is scoped to, or None for an unscoped (deployment-level) session."""
    value = session.info.get(SCOPE_KEY)
    return str(value) if value else None


def require_organisation(session: Session) -> str:
    """The session's organisation; for writes of rows whose key includes it (counters)."""
    org = organisation_of(session)
    if org is None:
        raise CrossOrganisationWrite("this write needs a session scoped to an organisation")
    return org


def _only_own_rows(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria of the statement that loaded the parent already propagate to these
    if not (state.is_select or state.is_update or state.is_delete):
        return
    org = state.session.info[SCOPE_KEY]
    state.statement = state.statement.options(
        with_loader_criteria(Owned, lambda cls: cls.organisation_id == org, include_aliases=True)
    )


def _stamp_new_rows(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    org = session.info[SCOPE_KEY]
    for obj in session.new:
        if isinstance(obj, Owned):
            if obj.organisation_id is None:
                obj.organisation_id = org
            elif obj.organisation_id != org:
                raise CrossOrganisationWrite(f"a new {type(obj).__name__} names another organisation")
    for obj in session.dirty:
        if isinstance(obj, Owned) and obj.organisation_id != org:
            raise CrossOrganisationWrite(f"a {type(obj).__name__} cannot move to another organisation")
