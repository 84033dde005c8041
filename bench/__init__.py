"""The benchmark: the project's hot paths timed against raw PostgreSQL doing the same work
(`python manage.py bench`; docs/performance.md). Tooling beside the product, not part of it:
no app imports it."""
