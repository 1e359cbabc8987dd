"""Credentials out of everything izde shows: messages, logs, settings.

Camera URLs carry passwords (``rtsp://user:password@host/...``) and database URLs do too; an error about a
camera, a log line about a reconnect or ``izde config show`` must never repeat them. :func:`redact` replaces the
user-info part of every URL in a text and the values of credential-like query parameters.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
# scheme://user[:password]@  (the user name may itself be secret: a token used as a user name)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@")
_SECRET_PARAMS = "password|passwd|pwd|pass|token|access_token|auth|key|apikey|api_key|secret|sig|signature"
_QUERY = re.compile(rf"(?i)([?&;](?:{_SECRET_PARAMS})=)[^&\s#]*")


def redact(text: str) -> str:
    """``text`` with URL credentials and credential-like query values masked."""
    if "://" not in text and "=" not in text:
        return text
    return _QUERY.sub(lambda m: m.group(1) + MASK, _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text))


def redact_tree(value: object) -> object:
    """Every string in a JSON-like tree (a settings dump) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Applied to log handlers: the formatted message is redacted before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of ``logger`` (the root logger by default), once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
