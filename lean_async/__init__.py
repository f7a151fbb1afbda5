"""lean-async: the asyncio Python SDK for the Lean payouts API.

from lean_async import LeanClient

async with LeanClient(api_key="...", environment="sandbox") as lean:
    gig = await lean.gigs.create(...)
"""

from lean_async._client import LeanClient
from lean_async._config import Environment
from lean_async._version import __version__
from lean_async.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LeanError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SandboxOnlyError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    ValidationError,
    WebhookVerificationError,
)
from lean_async.models import (
    Application,
    ApplicationStatus,
    BatchResult,
    Customer,
    CustomerStatus,
    EventType,
    Gig,
    PaymentStatus,
    SpecialPayment,
    SpecialPaymentType,
    WebhookEvent,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Application",
    "ApplicationStatus",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "ConflictError",
    "Customer",
    "CustomerStatus",
    "Environment",
    "EventType",
    "Gig",
    "InternalServerError",
    "LeanClient",
    "LeanError",
    "NotFoundError",
    "PaymentStatus",
    "PermissionDeniedError",
    "RateLimitError",
    "SandboxOnlyError",
    "ServiceUnavailableError",
    "SpecialPayment",
    "SpecialPaymentType",
    "UnprocessableEntityError",
    "ValidationError",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
]
