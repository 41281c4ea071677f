"""GraphQL over core.exports: export snapshots (written and converted by jobs), their download
links and the export formats of a project."""
