"""Big, long-lived data kept out of the cyclic garbage collector's full passes (decision 0021).

Hazard: frozen objects are still freed by reference counting, but garbage in reference
cycles frozen with them stays for good. So it is done right after building such data, and
only in the long-running processes (`shahr serve`'s app factory, `shahr worker`) that ask for
it: a test run builds and drops hundreds of containers in one process.
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
