"""GraphQL over core.projects: the Project type, its queries, mutations and loaders."""
