"""Property checks: anything in, a model or a documented `LeanError` out, never another exception.

Each ``fuzz_*`` function runs one hypothesis property for *max_examples* examples and
returns a `FuzzTally` of the outcomes. With ``strict=True`` (the pytest tests) a broken
promise raises, so hypothesis shrinks it to a minimal example; with ``strict=False``
(``make chaos``) every example runs and the broken ones are counted.

The number of examples comes from ``$CHAOS_EXAMPLES`` (per property) through `examples`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lean_async import Application, Customer, Gig, LeanClient, SpecialPayment, WebhookEvent
from lean_async.errors import APIError, LeanError, ValidationError, WebhookVerificationError
from lean_async.webhooks import parse, sign, verify
from tests.chaos import strategies as s
from tests.chaos.payouts import DOCUMENTED_ERRORS
from tests.reference import (
    REFERENCE_APPLICATION,
    REFERENCE_CREATED_CUSTOMER,
    REFERENCE_GIG,
    REFERENCE_SPECIAL_PAYMENT,
)

__all__ = [
    "EXAMPLES_ENV",
    "FUZZERS",
    "FuzzTally",
    "examples",
    "fuzz_applications",
    "fuzz_customers",
    "fuzz_gigs",
    "fuzz_responses",
    "fuzz_special_payments",
    "fuzz_webhooks",
]

EXAMPLES_ENV: Final = "CHAOS_EXAMPLES"
_KEY: Final = "chaos_fuzz_key"
_ANSWERS: Final[Mapping[str, Any]] = {
    "customer": REFERENCE_CREATED_CUSTOMER,
    "application": REFERENCE_APPLICATION,
    "gig": REFERENCE_GIG,
    "specialpayment": REFERENCE_SPECIAL_PAYMENT,
}


def examples(default: int = 50) -> int:
    """Examples per property: ``$CHAOS_EXAMPLES``, else *default*."""
    return int(os.environ.get(EXAMPLES_ENV, default))


def _settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


@attrs.define
class FuzzTally:
    """Outcomes of one property.

    Attributes:
        name: the property.
        examples: examples run.
        outcomes: ``"model"`` or the documented error's class name, by count.
        broken: examples that broke the promise, by ``"<exception class>"`` or reason.
        samples: the first few broken examples, described.
    """

    name: str
    examples: int = 0
    outcomes: Counter[str] = attrs.field(factory=Counter)
    broken: Counter[str] = attrs.field(factory=Counter)
    samples: list[str] = attrs.field(factory=list)

    def record_broken(self, reason: str, detail: str, *, strict: bool) -> None:
        """Count a broken promise; raise it when *strict*."""
        self.broken[reason] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{reason}: {detail}"[:300])
        if strict:
            raise AssertionError(f"{self.name}: {reason}: {detail}"[:2000])


class _Harness:
    """An event loop and a client on an `httpx.MockTransport`, reused across examples."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.sent: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            self.sent.append(request)
            return answer(request)

        self._runner = asyncio.Runner()
        self.client: LeanClient = self._runner.run(self._open(httpx.MockTransport(handler)))

    @staticmethod
    async def _open(transport: httpx.AsyncBaseTransport) -> LeanClient:
        return LeanClient(
            api_key=_KEY, base_url="http://127.0.0.1:9/api", transport=transport, max_retries=0
        )

    def run(self, call: Callable[[LeanClient], Awaitable[Any]]) -> Any:
        """Run one call; returns its result or the exception it raised."""
        self.sent.clear()

        async def go() -> Any:
            async with asyncio.timeout(10):
                return await call(self.client)

        try:
            return self._runner.run(go())
        except Exception as exc:
            return exc

    def close(self) -> None:
        self._runner.run(self.client.aclose())
        self._runner.close()


def _reference_answer(request: httpx.Request) -> httpx.Response:
    resource = request.url.path.removeprefix("/api/").split("/")[0]
    return httpx.Response(200, json=_ANSWERS.get(resource, {}))


def _describe(value: object) -> str:
    try:
        return repr(value)[:200]
    except Exception as exc:  # a hostile value's repr may fail too
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"


def _judge(
    tally: FuzzTally,
    outcome: object,
    expected: type | tuple[type, ...],
    *,
    sent: int,
    what: str,
    strict: bool,
    errors: type[BaseException] = LeanError,
) -> None:
    if isinstance(outcome, BaseException):
        name = type(outcome).__name__
        if type(outcome) not in DOCUMENTED_ERRORS or not isinstance(outcome, errors):
            tally.record_broken(name, f"{_describe(outcome)} for {what}", strict=strict)
            return
        tally.outcomes[name] += 1
        if isinstance(outcome, ValidationError) and sent:
            tally.record_broken("sent despite ValidationError", what, strict=strict)
        return
    if isinstance(outcome, list) and all(isinstance(x, expected) for x in outcome):
        tally.outcomes["models"] += 1
    elif isinstance(outcome, expected):
        tally.outcomes["model"] += 1
    else:
        tally.record_broken("not a model", f"{_describe(outcome)} for {what}", strict=strict)


def _create_fuzzer(
    name: str,
    valid: Mapping[str, Any],
    call: Callable[[LeanClient, dict[str, Any]], Awaitable[Any]],
    model: type,
    known: Sequence[Mapping[str, Any]],
) -> Callable[..., FuzzTally]:
    """Build the property for one create; *known* overrides run first, every time."""
    names = tuple(s.WILD_VALUES.keys() & (valid.keys() | _OPTIONAL[name]))

    def fuzz(max_examples: int, *, strict: bool = True) -> FuzzTally:
        tally = FuzzTally(name)
        harness = _Harness(_reference_answer)

        @_settings(max_examples)
        @given(kwargs=s.call_kwargs(valid, tuple(sorted(names))))
        def prop(kwargs: dict[str, Any]) -> None:
            tally.examples += 1
            outcome = harness.run(lambda lean: call(lean, kwargs))
            _judge(
                tally, outcome, model, sent=len(harness.sent), what=_describe(kwargs), strict=strict
            )

        for overrides in known:
            prop = example(kwargs={**valid, **overrides})(prop)
        try:
            prop()
        finally:
            harness.close()
        return tally

    fuzz.__name__ = f"fuzz_{name}"
    fuzz.__doc__ = f"Fuzz the arguments of ``{name}.create``."
    return fuzz


_OPTIONAL: Final[Mapping[str, set[str]]] = {
    "customers": {"middle_name", "street2"},
    "gigs": set(),
    "special_payments": {"gig_id", "description", "userdata", "idempotency_key"},
}

# Known hostile inputs (the independent audit's findings) run on every test run, so
# that a small example count cannot miss them.
fuzz_customers = _create_fuzzer(
    "customers",
    s.VALID_CUSTOMER,
    lambda lean, kw: lean.customers.create(**kw),
    Customer,
    known=[{"street": "\ud800"}, {"first_name": 7}, {"birthday": float("nan")}],
)
fuzz_gigs = _create_fuzzer(
    "gigs",
    s.VALID_GIG,
    lambda lean, kw: lean.gigs.create(**kw),
    Gig,
    known=[{"description": "\ud800"}, {"total_amount": Decimal("sNaN")}, {"end_time": None}],
)
fuzz_special_payments = _create_fuzzer(
    "special_payments",
    s.VALID_SPECIAL_PAYMENT,
    lambda lean, kw: lean.special_payments.create(**kw),
    SpecialPayment,
    known=[
        {"description": "\ud800"},
        {"idempotency_key": "\ud800"},
        {"idempotency_key": {"a": 1}},
        {"userdata": s.DeepDict(5000)},
        {"userdata": {"n": float("nan")}},
    ],
)

_LOOKUPS: Final[Mapping[str, tuple[Callable[[LeanClient, Any], Awaitable[Any]], type]]] = {
    "applications.submit": (lambda lean, i: lean.applications.submit(i), Application),
    "customers.get": (lambda lean, i: lean.customers.get(i), Customer),
    "gigs.get": (lambda lean, i: lean.gigs.get(i), Gig),
    "special_payments.get": (lambda lean, i: lean.special_payments.get(i), SpecialPayment),
}


def fuzz_applications(max_examples: int, *, strict: bool = True) -> FuzzTally:
    """Fuzz the identifier of ``applications.submit`` and of every ``get``.

    Also checks that a sent identifier stays one path segment: nothing but the resource
    and one segment after ``/api/``.
    """
    tally = FuzzTally("applications_and_gets")
    harness = _Harness(_reference_answer)

    @_settings(max_examples)
    @given(op=st.sampled_from(sorted(_LOOKUPS)), identifier=s.identifiers)
    @example(op="applications.submit", identifier="\ud800")
    @example(op="gigs.get", identifier="../gig")
    def prop(op: str, identifier: Any) -> None:
        tally.examples += 1
        call, model = _LOOKUPS[op]
        outcome = harness.run(lambda lean: call(lean, identifier))
        what = f"{op}({_describe(identifier)})"
        _judge(tally, outcome, model, sent=len(harness.sent), what=what, strict=strict)
        for request in harness.sent:
            segments = request.url.raw_path.split(b"?")[0].split(b"/")
            expected = 3 if op == "applications.submit" else 4
            if len(segments) != expected or b".." in segments:
                tally.record_broken("escaped its path segment", what, strict=strict)

    try:
        prop()
    finally:
        harness.close()
    return tally


_OPERATIONS: Final[Mapping[str, tuple[Callable[[LeanClient], Awaitable[Any]], type]]] = {
    "customers.create": (lambda lean: lean.customers.create(**s.VALID_CUSTOMER), Customer),
    "customers.get": (lambda lean: lean.customers.get("uid_1"), Customer),
    "applications.submit": (lambda lean: lean.applications.submit("uid_1"), Application),
    "gigs.create": (lambda lean: lean.gigs.create(**s.VALID_GIG), Gig),
    "gigs.get": (lambda lean: lean.gigs.get("gig_1"), Gig),
    "gigs.list": (lambda lean: lean.gigs.list(), Gig),
    "special_payments.create": (
        lambda lean: lean.special_payments.create(**s.VALID_SPECIAL_PAYMENT),
        SpecialPayment,
    ),
    "special_payments.get": (lambda lean: lean.special_payments.get("sp_1"), SpecialPayment),
    "special_payments.list": (lambda lean: lean.special_payments.list(), SpecialPayment),
}


def fuzz_responses(max_examples: int, *, strict: bool = True) -> FuzzTally:
    """Answer every endpoint with arbitrary statuses, headers and bodies.

    Every call must return its model (or list of models) or raise a documented
    `APIError`: never RecursionError, KeyError, TypeError, UnicodeDecodeError...
    """
    tally = FuzzTally("responses")
    answer: dict[str, httpx.Response] = {}
    harness = _Harness(lambda _: answer["next"])

    @_settings(max_examples)
    @given(
        op=st.sampled_from(sorted(_OPERATIONS)),
        status=s.statuses,
        body=s.response_bodies,
        retry_after=s.retry_after_values,
        content_type=st.sampled_from(
            ["application/json", "text/html", "", "application/json; charset=utf-16"]
        ),
    )
    @example(
        op="gigs.list",
        status=200,
        body=b"[" * 5000 + b"]" * 5000,
        retry_after=None,
        content_type="",
    )
    @example(op="gigs.get", status=500, body=b"{}" * 2, retry_after="x", content_type="")
    @example(
        op="customers.get",
        status=200,
        body=b"\x00\x00",
        retry_after=None,
        content_type="application/json; charset=utf-16",
    )
    def prop(op: str, status: int, body: bytes, retry_after: str | None, content_type: str) -> None:
        tally.examples += 1
        headers = {"Content-Type": content_type} if content_type else {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        answer["next"] = httpx.Response(status, headers=headers, content=body)
        call, model = _OPERATIONS[op]
        outcome = harness.run(call)
        what = f"{op} answered {status} {body[:80]!r}"
        _judge(
            tally, outcome, model, sent=len(harness.sent), what=what, strict=strict, errors=APIError
        )

    try:
        prop()
    finally:
        harness.close()
    return tally


def _is_event_with_object_data(payload: bytes) -> bool:
    """Whether *payload* is a JSON object whose ``data`` is a JSON object."""
    try:
        body = json.loads(payload)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("data"), dict)


def fuzz_webhooks(max_examples: int, *, strict: bool = True) -> FuzzTally:
    """Forged and malformed webhook deliveries are refused with `WebhookVerificationError`.

    A delivery whose signature is not the HMAC of its body under the key must be
    refused; a correctly signed event whose ``data`` is a JSON object must be parsed,
    whatever its fields (a refused delivery is retried five times, then lost).
    """
    tally = FuzzTally("webhooks")

    @_settings(max_examples)
    @given(
        payload=st.one_of(
            st.binary(max_size=200),
            s.json_values.map(lambda v: s.to_json_bytes({"event": "gig.completed", "data": v})),
            st.just(s.to_json_bytes({"event": "gig.completed", "data": REFERENCE_GIG})),
        ),
        signature=st.one_of(
            st.none(), s.any_text, st.just("SIGNED"), st.just("SIGNED="), st.just("SIGNED!")
        ),
        keys=st.sampled_from([_KEY, [_KEY], ["old_key", _KEY], "other_key"]),
    )
    @example(payload=b'{"event": "gig.completed", "data": {}}', signature="SIGNED", keys=_KEY)
    @example(payload=b"{}", signature="\ud800", keys=_KEY)
    def prop(payload: bytes, signature: str | None, keys: str | list[str]) -> None:
        tally.examples += 1
        # Only a signature built from the true HMAC may pass; one derived from it with
        # junk appended may pass or fail (lenient base64), any other must fail.
        derived = False
        if signature is not None and signature.startswith("SIGNED"):
            derived = True
            signature = sign(payload, _KEY) + signature.removeprefix("SIGNED")
        key_ok = keys == _KEY or (isinstance(keys, list) and _KEY in keys)
        genuine = derived and key_ok
        exact = genuine and signature == sign(payload, _KEY) and _is_event_with_object_data(payload)
        what = f"payload={payload[:60]!r} signature={_describe(signature)} keys={keys}"
        for step in ("verify", "parse"):
            try:
                if step == "verify":
                    verify(payload, signature, keys)
                    outcome: object = None
                else:
                    headers = {} if signature is None else {"x-lean-signature": signature}
                    outcome = parse(payload, headers, keys)
            except Exception as exc:
                outcome = exc
            expected = type(None) if step == "verify" else WebhookEvent
            _judge(
                tally,
                outcome,
                expected,
                sent=0,
                what=f"{step} {what}",
                strict=strict,
                errors=WebhookVerificationError,
            )
            if not genuine and not isinstance(outcome, WebhookVerificationError):
                tally.record_broken("forged delivery accepted", f"{step} {what}", strict=strict)
            if exact and step == "parse" and not isinstance(outcome, WebhookEvent):
                # DESIGN "Webhooks": a correctly signed delivery is never refused for its
                # shape (.data is the typed object when it fits, else the raw mapping).
                tally.record_broken("signed delivery refused", what, strict=strict)

    prop()
    return tally


FUZZERS: Final[tuple[Callable[..., FuzzTally], ...]] = (
    fuzz_customers,
    fuzz_gigs,
    fuzz_special_payments,
    fuzz_applications,
    fuzz_responses,
    fuzz_webhooks,
)
"""Every property, in the order ``make chaos`` runs them."""
