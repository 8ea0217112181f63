"""Suite-wide pytest hooks.

``make test`` runs the suite on two pytest-xdist workers (``-n 2 --dist worksteal``).
worksteal first hands worker i the i-th contiguous share of the collected items,
so the long tests (those with a ``timeout`` mark: the recipe and CLI tests, a
minute or more each) are dealt out round-robin to the front of each worker's
share: they start first, side by side, and the many short tests (and stealing)
fill the gaps. Without xdist the long tests simply run first.

Tiers: a test whose ``timeout`` mark exceeds ``QUICK_TIMEOUT_S`` is marked ``slow``
(full tier only: ``make test-all``); ``make test`` runs ``-m "not slow"``. Tests in
``test_recipe_*.py`` files are marked ``recipe``.
"""

import os

import pytest

QUICK_TIMEOUT_S = 300  # a test expected to need more than this is in the full tier only


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(session, config, items):
    def expected_seconds(item):
        mark = item.get_closest_marker("timeout")
        return float(mark.args[0]) if mark and mark.args else 0.0

    for item in items:
        if expected_seconds(item) > QUICK_TIMEOUT_S:
            item.add_marker(pytest.mark.slow)
        if item.path.name.startswith("test_recipe_"):
            item.add_marker(pytest.mark.recipe)

    slow = sorted((i for i in items if expected_seconds(i) > 0), key=expected_seconds,
                  reverse=True)
    fast = [i for i in items if expected_seconds(i) == 0]
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    ordered, left = [], len(items)
    for w in range(workers):  # the share sizes worksteal uses: remaining // workers left
        size = left // (workers - w)
        left -= size
        mine = slow[w::workers]
        take = max(0, size - len(mine))
        ordered += mine + fast[:take]
        fast = fast[take:]
    ordered += fast
    items[:] = ordered
