"""The compiled decoders (`lean_async._codec.decoders`): a model the fast path cannot build
exactly as attrs would is left to cattrs or built through its own ``__init__``, and the
result is the model cattrs builds."""

from __future__ import annotations

import typing
from decimal import Decimal
from typing import Annotated

import attrs
import pytest

from lean_async._codec.convert import StructureError, camel, converter, structure
from lean_async._codec.decoders import FastStructurer, compile_structurer


def _fast(cls: type) -> typing.Callable[[typing.Any], typing.Any] | None:
    return compile_structurer(cls, json_name=camel, forbid_extra_keys=False)


@attrs.frozen(kw_only=True)
class Plain:
    """Nothing but slots to set: built without calling __init__."""

    gig_id: str
    note: str | None = None


@attrs.frozen(kw_only=True)
class WithDefault:
    """A default other than None: cattrs fills it in."""

    gig_id: str
    count: int = 3


@attrs.frozen(kw_only=True)
class Checked:
    """A validator: the fast path must run it, so it calls __init__."""

    amount: Decimal = attrs.field(validator=attrs.validators.ge(Decimal(0)))


@attrs.frozen(kw_only=True)
class Hooked:
    """A post-init hook that checks the fields: __init__ must run."""

    first: str

    def __attrs_post_init__(self) -> None:
        if not self.first.strip():
            raise ValueError("first is blank")


@attrs.frozen(kw_only=True)
class Counted:
    """A field type the compiler does not know (int): cattrs reads it."""

    count: int


@attrs.frozen(kw_only=True)
class Ahead:
    """An annotation that names a type nobody defined."""

    gig: Missing  # type: ignore[name-defined]  # noqa: F821


@attrs.frozen(kw_only=True, cache_hash=True)
class Hashed:
    """A slot that is no field (the cached hash): built through __init__."""

    gig_id: str


class NotAttrs:
    """Not an attrs class."""


def test_a_plain_model_is_compiled_and_equals_what_cattrs_builds() -> None:
    """The fast function of a slots-only model builds the model cattrs builds."""
    fast = _fast(Plain)
    assert fast is not None
    data = {"gigId": "g-1", "note": "n"}
    assert fast(data) == converter.structure(data, Plain) == Plain(gig_id="g-1", note="n")
    assert fast({"gigId": "g-2"}) == Plain(gig_id="g-2")


@pytest.mark.parametrize("cls", [NotAttrs, WithDefault, Ahead, Counted])
def test_what_the_fast_path_cannot_read_is_left_to_cattrs(cls: type) -> None:
    """Not attrs, a non-None default, an unresolvable annotation or an unknown field type."""
    assert _fast(cls) is None


def test_a_default_the_fast_path_leaves_is_still_filled_in() -> None:
    """Through the module's structure(), a model without a fast function still decodes."""
    assert structure({"gigId": "g-1"}, WithDefault) == WithDefault(gig_id="g-1", count=3)
    assert structure({"count": 4}, Counted) == Counted(count=4)


def test_validators_still_run_on_the_fast_path() -> None:
    """A model with a validator is built through __init__: a bad value is refused."""
    fast = _fast(Checked)
    assert fast is not None
    assert fast({"amount": "2.50"}) == Checked(amount=Decimal("2.50"))
    with pytest.raises(ValueError, match="amount"):
        fast({"amount": "-1.00"})
    with pytest.raises(StructureError):
        structure({"amount": "-1.00"}, Checked)


def test_post_init_hooks_still_run_on_the_fast_path() -> None:
    """A model with __attrs_post_init__ is built through __init__, so the hook runs."""
    fast = _fast(Hooked)
    assert fast is not None
    assert fast({"first": "ada"}) == converter.structure({"first": "ada"}, Hooked)
    with pytest.raises(ValueError, match="blank"):
        fast({"first": " "})


def test_an_unhashable_type_form_has_no_fast_function() -> None:
    """A type form that cannot be a cache key (unhashable metadata) takes the detailed path."""
    fast = FastStructurer(json_name=camel, forbid_extra_keys=False)
    assert fast.function_for(Annotated[Plain, []]) is None
    assert fast.function_for(list[Plain]) is None  # not a class: nothing compiled
    assert fast.function_for(Plain) is fast.function_for(Plain)  # compiled once


def test_a_model_with_a_cached_hash_hashes_like_one_built_by_hand() -> None:
    """Its hash slot is set up by __init__, so decoded and hand-built models hash alike."""
    fast = _fast(Hashed)
    assert fast is not None
    built = fast({"gigId": "g-1"})
    assert built == Hashed(gig_id="g-1")
    assert {built, Hashed(gig_id="g-1")} == {built}
