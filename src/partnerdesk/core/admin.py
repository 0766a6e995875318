"""Core has no models of its own: the audit log lives with accounts."""
