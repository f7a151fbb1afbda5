"""Secrets in frames: what an error tracker capturing local variables would send."""
