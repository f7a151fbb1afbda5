"""The API's field rules, split by job; `lean_async._endpoints.validate` is their front door.

* `base`: a field's `Kind` (how a JSON value and a Python argument are read) and `Invalid`;
* `text`, `money`, `times`: the kinds of text, amounts, dates and timestamps;
* `table`: `Endpoint`, the rule row built from an endpoint's attrs request model;
* `paths`: URL path segments; `arguments`: arguments beside a body (keys, waits).

The request models themselves, one per endpoint, are in `lean_async._endpoints.requests`.
"""
