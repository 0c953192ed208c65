"""The web service behind `siting serve`: accounts and organisations, projects, what-if
editing on a map, queued runs with separate workers, comparisons and published pages.

Storage is SQLAlchemy 2 with Alembic migrations (SQLite in the data folder by default,
PostgreSQL by URL). Route handlers stay thin: they parse, authorise through `tenancy`, call
the same scenario functions as `siting run`, and render.

May import only the layers below it (scenario and everything under it).
"""
