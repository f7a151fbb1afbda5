"""``python -m tests.frames``: run every scenario and print the counts as JSON.

The tests run this in a subprocess whose ``sys.path`` starts with another sentry-sdk
line (2.x), so both lines capture the same error paths.
"""

import json

from tests.frames.capture import sentry_version
from tests.frames.scenarios import run_all

print(json.dumps({"sentry": sentry_version(), "results": run_all()}))  # noqa: T201
