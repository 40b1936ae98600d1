"""Store each notebook that nbval ran without failure in the book's execution cache.

`make test` executes every notebook once, under nbval and in parallel. The book
build that follows (execute_notebooks: cache) then finds the executed notebooks in
jupyter-cache and re-runs none of them. A notebook with any failing cell is not
stored, so the build would execute it again and fail loudly.
"""

from __future__ import annotations

import copy
import fcntl
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / "_build" / ".jupyter_cache"

_failed: set[str] = set()
_started: dict[str, float] = {}


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_runtest_setup(item):
    if _is_nbval_cell(item):
        _started.setdefault(str(item.parent.fspath), time.time())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _is_nbval_cell(item) and report.failed:
        _failed.add(str(item.parent.fspath))


def pytest_runtest_teardown(item, nextitem):
    if not _is_nbval_cell(item):
        return
    if nextitem is not None and nextitem.parent is item.parent:
        return
    path = str(item.parent.fspath)
    if path in _failed:
        return
    _store(item.parent, time.time() - _started.get(path, time.time()))


def _store(nb_file, seconds: float) -> None:
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = copy.deepcopy(nb_file.nb)
    cells = {
        c.cell_num: c for c in nb_file.session.items if _is_nbval_cell(c) and c.parent is nb_file
    }
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        item = cells.get(count)
        count += 1
        if item is None or item.test_outputs is None:
            return  # a cell did not run (deselected or skipped): nothing trustworthy to cache
        outputs = []
        for out in item.test_outputs:
            out = copy.deepcopy(out)
            if out.get("output_type") == "execute_result":
                out["execution_count"] = count
            outputs.append(out)
        cell.outputs = outputs
        cell.execution_count = count
    nbformat.validate(nb)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / ".jupyter_cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers share the cache's database
        cache = get_cache(str(CACHE))
        cache.cache_notebook_bundle(
            CacheBundleIn(nb=nb, uri=str(nb_file.fspath), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
