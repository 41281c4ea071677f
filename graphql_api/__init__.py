"""Strawberry GraphQL schema over core."""
