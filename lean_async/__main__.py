"""``python -m lean_async``: the same as the ``lean-async`` command."""

from lean_async.cli import main

main()
