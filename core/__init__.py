"""Labelgraph core: the pure domain (models, rules, services). No web, no queue."""
