"""Use cases of the legacy Label Studio 0.8 API, composed from the services of the other domains
(projects, tasks, annotations, predictions): nothing here re-implements their rules."""
