"""GraphQL over core.imports: imports from a URL (in the request when small, as a job when
big). File uploads are multipart and stay on REST (POST /api/projects/{id}/import)."""
