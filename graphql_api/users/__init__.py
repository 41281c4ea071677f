"""GraphQL over core.users and core.organizations: User and Organization types, queries and loaders."""
