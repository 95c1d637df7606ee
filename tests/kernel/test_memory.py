"""Settling long-lived data: only in processes that ask for it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shahr.kernel import memory


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()
    memory._settling = False


def test_a_process_that_did_not_ask_keeps_every_object_in_the_collector_s_reach() -> None:
    memory.settle_long_lived()

    assert gc.get_freeze_count() == 0


def test_a_server_process_takes_what_is_alive_out_of_full_collections() -> None:
    long_lived = [{"meter": n} for n in range(1_000)]
    memory.settle_in_this_process()

    memory.settle_long_lived()

    assert gc.get_freeze_count() >= len(long_lived)
