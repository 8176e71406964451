"""The package's public API is what ``__all__`` says: small, complete and importable."""

from __future__ import annotations

import types

import pyclient


def test_all_is_small_and_sorted() -> None:
    assert len(pyclient.__all__) <= 20
    assert len(set(pyclient.__all__)) == len(pyclient.__all__)
    assert sorted(pyclient.__all__, key=lambda n: (not n[0].isupper(), n)) == pyclient.__all__


def test_every_name_in_all_is_exported() -> None:
    for name in pyclient.__all__:
        assert getattr(pyclient, name, None) is not None, name


def test_every_public_attribute_is_in_all_or_a_subpackage() -> None:
    public = {name for name in vars(pyclient) if not name.startswith("_")}
    modules = {name for name in public if isinstance(getattr(pyclient, name), types.ModuleType)}
    assert public - modules == set(pyclient.__all__)
