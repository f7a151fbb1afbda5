"""`lean.applications`: submit a worker's onboarding application (sandbox only)."""

from __future__ import annotations

from lean_async._config import Environment
from lean_async._endpoints.requests import APPLICATION
from lean_async._endpoints.table import APPLICATIONS_SUBMIT
from lean_async._telemetry import traced
from lean_async.errors import SandboxOnlyError
from lean_async.models import Application
from lean_async.resources._base import Resource

__all__ = ["Applications"]


class Applications(Resource):
    """The Application API, which exists only in the sandbox."""

    __slots__ = ()

    @traced(APPLICATIONS_SUBMIT.name)
    async def submit(self, partner_user_id: str) -> Application:
        """Submit a customer's application; approval makes the customer ACTIVE.

        Submitting the same worker twice changes nothing, so the call is retried freely.

        Raises:
            SandboxOnlyError: the client is set up for production; nothing was sent.
            ValidationError: the id is empty or not a string.
            APIError: the call failed.
        """
        if self._client.environment is Environment.PRODUCTION:
            raise SandboxOnlyError(
                "applications.submit exists only in the sandbox: in production each "
                "worker submits their own application in the Lean mobile app"
            )
        body = APPLICATION.body(locals())  # the declaration picks its arguments
        return await self._client._send(
            APPLICATIONS_SUBMIT.method,
            APPLICATIONS_SUBMIT.path_prefix,
            json=body,
            replay_safe=True,
            cast_to=APPLICATIONS_SUBMIT.response,
        )
