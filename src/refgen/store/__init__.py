"""The database: contracts (base), SQLAlchemy schema and adapter, Alembic migrations."""
