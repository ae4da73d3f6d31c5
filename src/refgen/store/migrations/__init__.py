"""Alembic migrations of the task database (run by refgen.store.migrate; not imported)."""
