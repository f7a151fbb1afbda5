"""Generated functions show their source in a traceback, as attrs' and dataclasses' do."""

from __future__ import annotations

import re
import traceback

import pytest

from lean_async._codec.convert import camel
from lean_async._codec.decoders import compile_structurer
from lean_async._codec.generated import compile_function
from lean_async._endpoints.requests import GIG
from lean_async.models import Gig


def formatted(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_a_fast_structure_function_shows_the_line_that_failed() -> None:
    """A key the fast function reads is missing: the traceback quotes that line."""
    structure = compile_structurer(Gig, json_name=camel, forbid_extra_keys=False)
    assert structure is not None
    with pytest.raises(KeyError) as caught:
        structure({})
    text = formatted(caught.value)
    # "-1", "-2"... when another converter compiled Gig differently first.
    assert re.search(r'File "<lean_async fast structure Gig(-[0-9]+)?>", line [0-9]+', text)
    assert "o['id']" in text


def test_a_fast_body_function_shows_its_source_lines() -> None:
    """The fast body of POST /gig is registered: its frames come with their source."""
    fast = GIG._fast_body  # the compiled body of the endpoint declaration
    filename = fast.__code__.co_filename
    assert filename.startswith("<lean_async fast body ")
    with pytest.raises(KeyError) as caught:
        fast({})  # no arguments at all: the first read fails
    text = formatted(caught.value)
    assert f'File "{filename}", line 3, in body' in text
    assert "v0 = args['partner_user_id']" in text


def test_two_sources_under_one_name_both_stay_readable() -> None:
    """A second, different source under a name already used gets its own (-1) entry."""
    first = compile_function("def f():\n    raise ValueError('one')", "<lean_async t>", {}, "f")
    second = compile_function("def f():\n    raise KeyError('two')", "<lean_async t>", {}, "f")
    same = compile_function("def f():\n    raise ValueError('one')", "<lean_async t>", {}, "f")
    assert first.__code__.co_filename == same.__code__.co_filename == "<lean_async t>"
    assert second.__code__.co_filename == "<lean_async t-1>"
    for function, line in ((first, "raise ValueError('one')"), (second, "raise KeyError('two')")):
        with pytest.raises((ValueError, KeyError)) as caught:
            function()
        assert line in formatted(caught.value)
