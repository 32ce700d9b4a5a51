"""Mutations, grouped by what they change. Each returns a union with ``Error`` types."""
