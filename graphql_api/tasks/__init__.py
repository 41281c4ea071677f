"""GraphQL over core.tasks: the Task type, its queries, mutations (import included) and loaders."""
