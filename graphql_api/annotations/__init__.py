"""GraphQL over core.annotations: the Annotation type, its mutations and loaders."""
