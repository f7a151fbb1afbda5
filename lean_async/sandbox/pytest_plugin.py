"""pytest plugin: lean_sandbox and lean_client fixtures (filled in by the sandbox work)."""
