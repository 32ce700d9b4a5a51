"""The sync engine: runs, scheduling, and the only writer of entity states and audit events."""
