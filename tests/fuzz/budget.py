"""How many examples a fuzz test runs.

By default every property runs a bounded, derandomized number of examples, so the whole
folder finishes in well under two minutes and a CI run always tries the same inputs. Set
``FUZZ_SCALE=20`` (or any factor) to multiply the budgets, and ``FUZZ_RANDOM=1`` to draw new
inputs on every run (exploration; hypothesis keeps what fails in its example database).
Cases marked ``slow`` have larger budgets of their own.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("FUZZ_SCALE", "1") or 1)
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")


def budget(examples: int, *, randomize: bool = False) -> settings:
    """Hypothesis settings for ``examples`` inputs (times ``FUZZ_SCALE``)."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=not (RANDOM or randomize),
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
