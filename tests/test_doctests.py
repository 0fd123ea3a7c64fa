"""The examples in the public entry points' docstrings run as printed."""

import doctest

import pytest

import bvae.model.bound

MODULES = [bvae.model.bound]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS, raise_on_error=False)
    assert tried and not failed
