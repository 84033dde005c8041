"""The API kit every app's API is built with: strict serializers and their fields, cursor
pagination, one exception handler, the schema's shared answers and hooks."""
