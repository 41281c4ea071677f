"""Data Manager: saved views (tabs) of a project's task list and bulk actions over task selections."""
