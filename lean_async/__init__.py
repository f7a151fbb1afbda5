"""lean-async."""
