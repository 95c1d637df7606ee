"""Big, long-lived data kept out of the cyclic garbage collector's full passes.

A full collection walks every tracked object. A process holding a city's inventory in
memory (12,500 meters: half a million objects) spends about 190 ms in each one, with the
event loop stopped, every few seconds under load; that pause, not the work, was the p99 of
search through HTTP. `gc.freeze()` moves what is alive now to a generation the collector
never walks. Objects frozen are still freed by reference counting when the last reference
goes (an old snapshot's meters, say); only garbage in reference cycles frozen with them
would stay. So it is done right after building such data, and only in the long-running
processes (`shahr serve`'s app factory, `shahr worker`) that ask for it: a test run builds
and drops hundreds of containers in one process, and would keep every one of them.
"""

from __future__ import annotations

import gc

_settling = False


def settle_in_this_process() -> None:
    """This process runs for long and builds its big data once: let it settle that data."""
    global _settling
    _settling = True


def settle_long_lived() -> None:
    """Take every object alive now out of future full collections, in a process that
    asked for it (see the module); elsewhere nothing."""
    if _settling:
        gc.freeze()
