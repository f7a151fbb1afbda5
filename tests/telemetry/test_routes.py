"""url.template: collection templates, never the text of an identifier."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async._endpoints.table import ENDPOINTS
from lean_async._endpoints.validate import path_segment
from lean_async._telemetry._routes import url_template

TEMPLATES = (
    {row.path for row in ENDPOINTS}
    | {f"/{row.collection}/{{path}}" for row in ENDPOINTS}
    | {"/{path}"}
)
"""Every template a path can become: the table's paths, or a collection then ``{path}``."""


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/gig", "/gig"),
        ("/api/gig/", "/gig"),
        ("/api/gig/gigId_1", "/gig/{gigId}"),
        ("/api/customer/uid_1", "/customer/{partnerUserId}"),
        ("/api/specialpayment/sp_1", "/specialpayment/{id}"),
        ("/api/application", "/application"),
        ("/api/application/uid_1", "/application/{path}"),
        ("/api/gig/a/b", "/gig/{gigId}/{path}"),
        ("/api/webhooks/uid_1", "/{path}"),
        ("/other/gig", "/{path}"),
    ],
)
def test_paths_become_templates(path: str, template: str) -> None:
    """Each collection keeps its name; identifiers and unknown paths are generalised."""
    assert url_template(path, "/api/") == template


@given(st.sampled_from([*(row.collection for row in ENDPOINTS), "x"]), st.text(min_size=1))
def test_no_identifier_reaches_the_template(collection: str, identifier: str) -> None:
    """Whatever the id, its encoded form never appears in the template."""
    segment = path_segment("id", identifier) if identifier.strip() else "%20"
    template = url_template(f"/api/{collection}/{segment}", "/api/")
    assert template in TEMPLATES | {"/gig/{gigId}/{path}"}
