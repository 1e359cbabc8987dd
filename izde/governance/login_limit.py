"""How many failed logins a user name may have from one address before it has to wait, and for how long.

The limit is kept per (user name, address) rather than per user, so that someone guessing passwords from one
address cannot lock the real user out from theirs. The service keeps the failures in the database, so every way
of logging in (command line, API, console; one server process or several) counts against the same limit."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from izde.governance.users import AuthenticationFailed

# The address ``izde login`` and the Python API count their attempts under: they run where the data is.
LOCAL_ADDRESS = "local"
# Column widths of the failure table; a longer name cannot be a user's (those have at most 63 characters).
USERNAME_MAX = 100
ADDRESS_MAX = 64


@dataclass(frozen=True, slots=True)
class LoginLimit:
    attempts: int  # failures that lock the key
    window: timedelta  # how long each failure counts


@dataclass(frozen=True, slots=True)
class LoginKey:
    """Whose failures count together: the user name as typed (normalised like user names) and the address."""

    username: str
    address: str

    @classmethod
    def of(cls, username: str, address: str) -> LoginKey:
        return cls(username.strip().lower()[:USERNAME_MAX], address.strip()[:ADDRESS_MAX] or "unknown")


class TooManyFailedLogins(AuthenticationFailed):
    """Refused before the password is checked: this user name has failed too often from this address."""

    def __init__(self, key: LoginKey, retry_after: int) -> None:
        super().__init__(
            f"too many failed logins for {key.username} from this address", f"try again in {retry_after} s"
        )
        self.retry_after = retry_after


def seconds_to_wait(failures: Iterable[datetime], limit: LoginLimit, now: datetime) -> int:
    """Whole seconds until one more attempt is allowed; 0 when it is allowed now.

    A failure counts while it is younger than the window. With ``attempts`` or more of them, the key opens again
    when enough have aged out to leave one fewer than the limit. A failure stamped after ``now`` (another server's
    clock running ahead) counts, but never makes the wait longer than the window."""
    recent = sorted(t for t in failures if now - t < limit.window)
    excess = len(recent) - limit.attempts
    if excess < 0:
        return 0
    opens_at = recent[excess] + limit.window
    wait = math.ceil((opens_at - now).total_seconds())
    return max(1, min(wait, math.ceil(limit.window.total_seconds())))
