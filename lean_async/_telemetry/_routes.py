"""`url.template`: a request path as a low-cardinality template, never with a raw id."""

from __future__ import annotations

from typing import Final

from lean_async._endpoints.table import ENDPOINTS

__all__ = ["url_template"]

_ANY: Final = "{path}"
_UNKNOWN: Final = "/" + _ANY

# The API's collections (the endpoint table's) and the identifier below each, as its
# path template names it; a collection without an identifier route has "{path}" there.
_COLLECTIONS: Final = {row.collection: _ANY for row in ENDPOINTS} | {
    row.collection: "{" + row.parameter + "}" for row in ENDPOINTS if row.parameter
}


def url_template(path: str, base_path: str) -> str:
    """Return the template of *path* (a request's URL path) below *base_path*.

    ``/api/gig/gig-17`` below ``/api/`` is ``/gig/{gigId}``; ``/api/gig`` is ``/gig``.
    A path outside *base_path*, or below a collection the API does not have, is
    ``/{path}``; anything deeper than a collection's identifier becomes ``/{path}`` too,
    so no caller-supplied text ever reaches the template.
    """
    if not path.startswith(base_path):
        return _UNKNOWN
    segments = path[len(base_path) :].strip("/").split("/")
    collection = segments[0]
    identifier = _COLLECTIONS.get(collection)
    if identifier is None:
        return _UNKNOWN
    if len(segments) == 1:
        return "/" + collection
    template = f"/{collection}/{identifier}"
    return template if len(segments) == 2 or identifier == _ANY else template + _UNKNOWN
