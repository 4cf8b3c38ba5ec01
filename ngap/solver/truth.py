"""Which of many program literals a model makes true, at the cost of the C call alone.

``clingo.Model.is_true`` allocates a C out-parameter and wraps the call on every use: about
2.5 µs a literal, nine tenths of it Python.  Reading the context of each model (tens to hundreds
of literals, tens of thousands of models in an audit) took more time than some solves.  With
clingo's own C binding (the version pinned in pyproject.toml), one out-parameter serves a whole
list (one per call, never shared: cffi releases the GIL during the C call, and the service solves
in several threads); should the binding not be there (another clingo), the public method is
used.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import clingo

try:  # clingo's cffi binding: _lib.clingo_model_is_true(model, literal, bool *out) -> bool
    from clingo._internal import _ffi as _FFI  # type: ignore[attr-defined]
    from clingo._internal import _lib as _LIB  # type: ignore[attr-defined]

    _IS_TRUE: Any = _LIB.clingo_model_is_true
    _NEW: Any = _FFI.new
except (ImportError, AttributeError):  # pragma: no cover - another clingo build
    _IS_TRUE = None


def true_literals(model: clingo.Model, literals: Collection[int]) -> list[int]:
    """The literals of ``literals`` true in ``model`` (in their order)."""
    rep = getattr(model, "_rep", None)
    if _IS_TRUE is None or rep is None:  # pragma: no cover - another clingo build
        return [lit for lit in literals if model.is_true(lit)]
    out, is_true = _NEW("bool*"), _IS_TRUE
    found = []
    for lit in literals:
        if not is_true(rep, lit, out):  # pragma: no cover - only on a clingo error
            return [lit for lit in literals if model.is_true(lit)]
        if out[0]:
            found.append(lit)
    return found
