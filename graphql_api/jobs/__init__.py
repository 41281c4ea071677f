"""GraphQL over core.jobs: the Job type, job(id) and the jobProgress subscription."""
