"""Errors that users see. Each says what went wrong and, where possible, what to do about it."""

from __future__ import annotations


class IzdeError(Exception):
    """Base class of errors reported to users with a clear message and a non-zero exit status."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        from izde.redact import redact

        # Messages reach API responses, the terminal and logs: a camera URL's password must never be in them.
        message = redact(message)
        hint = redact(hint) if hint else hint
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInput(IzdeError):
    """A value given by the user is malformed or out of range."""

    exit_code = 2


class Conflict(InvalidInput):
    """The request is valid but the record is in a state that does not allow it (already decided, exists)."""


class ImageError(InvalidInput):
    """A file is not a readable image."""


class ImageTooLarge(ImageError):
    """An image declares more pixels than the configured limit; refused from its header, before decoding."""


class EnrolmentRejected(InvalidInput):
    """A reference photo fails the enrolment quality gate; nothing was stored."""


class SourceError(IzdeError):
    """A video source cannot be opened or read."""

    exit_code = 3


class NotFound(IzdeError):
    """A named record does not exist."""

    exit_code = 4


class ConfigError(IzdeError):
    """The configuration is invalid."""

    exit_code = 2
