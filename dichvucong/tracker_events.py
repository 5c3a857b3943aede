"""The SQL tracker store's ``events`` table, as read by the console and the retention run.

Rasa owns the table; this is only the columns we use, written once.
"""
import sqlalchemy as sa

events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)
