"""GraphQL over core.ml: the MLBackend type, the mlBackends query and the backend mutations."""
