"""izde's Python API: one object per data directory, acting as one logged-in user.

>>> from izde.api import Izde                                                      # doctest: +SKIP
>>> with Izde(home="/srv/izde") as izde:
...     izde.login("curator1", "...")
...     person = izde.propose(PersonSpec(...), [PhotoSpec(path="photo.jpg", provenance="family_provided")])

Every method checks the acting user's permission first and records what it did in the audit chain;
errors are :class:`izde.errors.IzdeError` subclasses with a message for people, and nothing is
half-written when one is raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from izde.service.audit import AuditService
from izde.service.auditlog import AuditLogService
from izde.service.keys import KeysService
from izde.service.reports import ReportService
from izde.service.users import UserService, UserView
from izde.service.views import AlertView, PersonView, PhotoView, WatchReport
from izde.service.watching import WatchService
from izde.service.watchlist import WatchlistService

if TYPE_CHECKING:
    from izde.archive.service import SearchService

__all__ = ["AlertView", "Izde", "PersonView", "PhotoView", "UserView", "WatchReport"]


class Izde(WatchService, WatchlistService, AuditService, AuditLogService, ReportService, UserService, KeysService):
    """Watchlist, authorisations, cameras, watching, alerts and reviews, retention, settings, audit, reports,
    users and the data key; retrospective searches of recorded footage through :attr:`searches`."""

    @property
    def searches(self) -> SearchService:
        """Searches of a case's recorded footage, as this object's user."""
        from izde.archive.service import SearchService

        return SearchService(self)
