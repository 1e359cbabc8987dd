"""Persistence: SQLAlchemy models, Alembic migrations, the evidence/photo file store."""
