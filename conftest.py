"""Collects the code blocks of README.md and docs/ as tests, through Sybil (tests/doc_blocks.py)."""

from tests.doc_blocks import SYBIL

pytest_collect_file = SYBIL.pytest()
