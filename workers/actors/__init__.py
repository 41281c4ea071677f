"""Dramatiq actors, one module per job family; each calls one core function."""
