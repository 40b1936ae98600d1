"""Evaluate a notebook's claims cell claim by claim, for `make full` (tools/full_run.py).

A claims cell is a sequence of statements whose ``assert``s are the chapter's claims. Run
as a cell, the first failing ``assert`` stops it; :func:`evaluate_claims` runs every
statement in order instead, and for each ``assert`` records whether it holds, its
message, and the numbers it checks (the scalar values of the names it reads), so one
failing claim does not hide the others.
"""

from __future__ import annotations

import ast
import math
import numbers
from typing import Any


def _number(value: Any) -> float | int | bool | str | None:
    """A plain number from a Python/numpy/torch scalar, else ``None``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else str(f)  # JSON has no NaN or inf
    item = getattr(value, "item", None)
    numel = getattr(value, "numel", None) or getattr(value, "size", None)
    if callable(item) and (numel == 1 or (callable(numel) and numel() == 1)):
        try:
            return _number(item())
        except (TypeError, ValueError, RuntimeError):
            return None
    return None


# builtins whose calls in a claim are cheap and free of side effects: their values are recorded
_PURE = frozenset({"abs", "float", "int", "len", "max", "min", "round", "sum"})


def _bound(node: ast.AST) -> set[str]:
    """Names bound by comprehensions and lambdas inside ``node``."""
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.comprehension):
            out |= {n.id for n in ast.walk(sub.target) if isinstance(n, ast.Name)}
        elif isinstance(sub, ast.Lambda):
            out |= {a.arg for a in ast.walk(sub.args) if isinstance(a, ast.arg)}
    return out


def _free(node: ast.AST) -> set[str]:
    """Names read in ``node`` that ``node`` itself does not bind."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - _bound(node)


def _values(node: ast.AST, namespace: dict[str, Any]) -> dict[str, Any]:
    """Scalar values of the names, ``a.b`` attributes, ``a[k]`` subscripts and calls of
    :data:`_PURE` builtins (``max(errs.values())``) in ``node``."""
    out: dict[str, Any] = {}
    for sub in ast.walk(node):
        # a name bound inside the claim (a comprehension or lambda variable) is not the
        # namespace's: in ``all(errs[k] < 1 for k in errs)`` the ``k`` of ``errs[k]`` is
        # skipped, while the whole ``max(e for e in errs)`` is recorded
        if _free(sub) & _bound(node):
            continue
        pure_call = (
            isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in _PURE
        )
        if pure_call or (
            isinstance(sub, (ast.Name, ast.Attribute, ast.Subscript))
            and isinstance(getattr(sub, "ctx", None), ast.Load)
        ):
            text = ast.unparse(sub)
            if text in out:
                continue
            try:
                value = eval(compile(ast.Expression(sub), "<claim>", "eval"), namespace)
            except Exception:  # a name bound only inside a comprehension, ...
                continue
            number = _number(value)
            if number is not None and not callable(value):
                out[text] = number
    return out


def evaluate_claims(source: str, namespace: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the claims cell ``source`` in ``namespace``; one record per ``assert``.

    Each record: ``claim`` (the asserted expression), ``passed`` (bool), ``message`` (the
    assert's message, evaluated, or ``None``), ``values`` (name -> number) and, when the
    expression itself raised, ``error``. A block holding asserts (a ``for`` loop of checks)
    is one record, without values. Any other statement that raises is recorded as a failed
    record with its ``error``, and the evaluation goes on with the next statement.
    """
    records: list[dict[str, Any]] = []
    for stmt in ast.parse(source).body:
        if not isinstance(stmt, ast.Assert):
            # a loop or block with asserts inside is one claim; other statements set up
            has_assert = any(isinstance(node, ast.Assert) for node in ast.walk(stmt))
            try:
                exec(compile(ast.Module([stmt], []), "<claims>", "exec"), namespace)
            except Exception as err:
                failed = {"claim": ast.unparse(stmt), "passed": False, "values": {}}
                if isinstance(err, AssertionError) and has_assert:
                    records.append({**failed, "message": str(err) or None})
                else:
                    error = f"{type(err).__name__}: {err}"
                    records.append({**failed, "message": None, "error": error})
                continue
            if has_assert:
                records.append(
                    {"claim": ast.unparse(stmt), "passed": True, "message": None, "values": {}}
                )
            continue
        record: dict[str, Any] = {"claim": ast.unparse(stmt.test), "message": None}
        try:
            record["passed"] = bool(
                eval(compile(ast.Expression(stmt.test), "<claim>", "eval"), namespace)
            )
        except Exception as err:
            record["passed"] = False
            record["error"] = f"{type(err).__name__}: {err}"
        if stmt.msg is not None:
            try:
                msg = eval(compile(ast.Expression(stmt.msg), "<claim>", "eval"), namespace)
                record["message"] = str(msg)
            except Exception as err:
                record["message"] = f"(message failed: {type(err).__name__}: {err})"
        record["values"] = _values(stmt.test, namespace)
        records.append(record)
    return records
