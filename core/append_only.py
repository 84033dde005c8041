"""Append-only tables, enforced by the database: a migration operation that installs a
trigger refusing UPDATE and DELETE on a table's rows, so that no code path (the ORM, raw
SQL, a shell, an admin action) can rewrite a ledger or a history. Corrections are new rows.

    operations = [AppendOnly("fees_feeentry")]

TRUNCATE is not a row change and stays possible (test databases are flushed with it). On
PostgreSQL only, where the money lives: SQLite, the laptop default, has no TRUNCATE, and
Django flushes its test databases there with DELETE.
"""

from django.db.migrations.operations.base import Operation

MESSAGE = "is append-only: write a new entry instead of changing or deleting one"


def _name(table: str) -> str:
    return f"{table}_append_only"


class AppendOnly(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str):
        self.table = table

    def deconstruct(self):
        return (self.__class__.__name__, [self.table], {})

    def state_forwards(self, app_label, state) -> None:
        pass  # nothing in the models changes

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for statement in self.install(schema_editor.connection.vendor):
            schema_editor.execute(statement, params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for statement in self.remove(schema_editor.connection.vendor):
            schema_editor.execute(statement, params=None)

    def install(self, vendor: str) -> list[str]:
        table, name = self.table, _name(self.table)
        if vendor == "postgresql":
            return [
                f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
                    BEGIN
                        RAISE EXCEPTION '{table} {MESSAGE} (% refused)', TG_OP
                            USING ERRCODE = 'restrict_violation';
                    END $$ LANGUAGE plpgsql""",
                f"""CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION {name}()""",
            ]
        return []

    def remove(self, vendor: str) -> list[str]:
        table, name = self.table, _name(self.table)
        if vendor == "postgresql":
            return [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"DROP FUNCTION IF EXISTS {name}()",
            ]
        return []

    def describe(self) -> str:
        return f"Refuse UPDATE and DELETE on {self.table}"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.table}_append_only"
