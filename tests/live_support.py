"""Shared by the live trainer's tests: small nets, and waiting for a running thread."""
import time

SMALL = dict(hidden=16, depth=2, batch_size=32, seed=3)


def wait_for(condition, timeout=20.0):
    """Poll ``condition()`` until it is true (returns True) or ``timeout`` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False
