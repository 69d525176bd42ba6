"""A probe that never answers in time (tests/core/test_integrations_health.py)."""

import time


def probe_slow():
    time.sleep(2)
