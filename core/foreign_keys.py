"""A foreign key over several columns, which Django's models cannot declare: a migration
operation that adds it in the database.

    operations = [
        CompositeForeignKey(
            "fee_entry_of_its_registration",
            table="fees_feeentry",
            columns=["registration_id", "seller_id", "campaign_id"],
            to_table="cashback_registration",
            to_columns=["id", "seller_id", "campaign_id"],
        )
    ]

One such key holds a row to another row and to that row's own columns at once: a fee
entry's seller and campaign are those of its registration. It stands for the single
column keys it makes redundant (their fields say db_constraint=False), and costs the
database one check a row where they cost one each.

Deferred to the commit, as Django's own keys are. The rows already there are checked when
it is added, in the migration's transaction: one join of the table with the table it points
at, during which neither takes writes (seconds for millions of rows); NOT
VALID and a later VALIDATE would spare that only outside a transaction, where a failed
check would leave the migration half applied. On PostgreSQL only, where the money lives:
SQLite cannot add a constraint to a table.
"""

from django.db.migrations.operations.base import Operation


class CompositeForeignKey(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(
        self,
        name: str,
        *,
        table: str,
        columns: list[str],
        to_table: str,
        to_columns: list[str],
    ):
        if len(columns) != len(to_columns):
            raise ValueError("A foreign key names as many columns on each side.")
        self.name, self.table, self.columns = name, table, list(columns)
        self.to_table, self.to_columns = to_table, list(to_columns)

    def deconstruct(self):
        return (
            self.__class__.__name__,
            [self.name],
            {
                "table": self.table,
                "columns": self.columns,
                "to_table": self.to_table,
                "to_columns": self.to_columns,
            },
        )

    def state_forwards(self, app_label, state) -> None:
        pass  # the models cannot say it: their fields say db_constraint=False

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        columns = ", ".join(map(quote, self.columns))
        to_columns = ", ".join(map(quote, self.to_columns))
        schema_editor.execute(
            f"ALTER TABLE {quote(self.table)} ADD CONSTRAINT {quote(self.name)} "
            f"FOREIGN KEY ({columns}) REFERENCES {quote(self.to_table)} ({to_columns}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(self.table)} DROP CONSTRAINT IF EXISTS {quote(self.name)}"
        )

    def describe(self) -> str:
        return (
            f"Foreign key {self.name}: {self.table} ({', '.join(self.columns)}) to "
            f"{self.to_table} ({', '.join(self.to_columns)})"
        )

    @property
    def migration_name_fragment(self) -> str:
        return self.name
