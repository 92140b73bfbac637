"""Database layer: models, engine and sessions, queries, Alembic migrations."""
