"""The GraphQL schema is a public contract: any change to it shows up in review as a diff of
tests/graphql_schema.graphql."""
from __future__ import annotations

from pathlib import Path

from graphql_api.schema import schema

SNAPSHOT = Path(__file__).with_name("graphql_schema.graphql")
UPDATE = (
    ".venv/bin/python -c \"from graphql_api.schema import schema; "
    "open('tests/graphql_schema.graphql', 'w').write(str(schema) + '\\n')\""
)


def test_schema_matches_snapshot():
    assert str(schema) + "\n" == SNAPSHOT.read_text(), (
        "The GraphQL schema changed. If the change is intended (clients may depend on the old shape), "
        f"update the snapshot and commit it with your change:\n  {UPDATE}"
    )
