"""GraphQL over core.predictions: the Prediction type, its mutations and loaders."""
