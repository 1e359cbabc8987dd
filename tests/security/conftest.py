"""Security tests run on SQLite and on PostgreSQL, like the web tests."""

from tests.web.conftest import backend_url

__all__ = ["backend_url"]
