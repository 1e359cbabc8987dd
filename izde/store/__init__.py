"""Persistence: SQLAlchemy models, Alembic migrations, the evidence/photo file store.

Entry point: :meth:`izde.store.db.Database.open`. Repositories (``persons``, ``templates``, ``runs``,
``alerts``, ``counts``) are plain functions over a session, plus a file stage where files are written.
"""
