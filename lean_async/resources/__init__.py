"""The API's nouns, one module each: thin validate → send → parse endpoints."""

from lean_async.resources.applications import Applications
from lean_async.resources.customers import Customers
from lean_async.resources.gigs import Gigs
from lean_async.resources.special_payments import SpecialPayments

__all__ = ["Applications", "Customers", "Gigs", "SpecialPayments"]
