"""Chaos suite: the SDK through a fault-injecting proxy, leak scans and fuzzing (``make chaos``)."""
