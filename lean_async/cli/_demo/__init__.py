"""The payout flow behind `lean-async demo`, its webhook receiver and its tally.

Private: the command line (`lean_async.cli`) is the public face of the demo.
"""

from lean_async.cli._demo._flow import DemoFailure, StepResult, run_demo
from lean_async.cli._demo._receiver import WEBHOOK_PATH, Arrival, WebhookReceiver
from lean_async.cli._demo._tally import Payout, Tally

__all__ = [
    "WEBHOOK_PATH",
    "Arrival",
    "DemoFailure",
    "Payout",
    "StepResult",
    "Tally",
    "WebhookReceiver",
    "run_demo",
]
