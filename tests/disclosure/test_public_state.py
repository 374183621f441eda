"""The published state a process remembers for its public reads' ETags."""

from __future__ import annotations

import time
from types import SimpleNamespace

from services.disclosure.public import http
from services.disclosure.public.settings import PublicSettings


def request_with(memo: http._Memo | None, *, reading: bool = False) -> SimpleNamespace:
    state = SimpleNamespace(
        public_state=memo,
        public_state_reading=reading,
        public_settings=PublicSettings(public_state_ttl_seconds=1.0),
    )
    return SimpleNamespace(app=SimpleNamespace(state=state))


class TestRemembered:
    def test_within_its_time_the_state_is_used(self) -> None:
        memo = http._Memo("v:1", http._current_generation, time.monotonic())
        assert http._remembered(request_with(memo).app) == "v:1"

    def test_past_its_time_it_is_read_again_unless_a_read_is_under_way(self) -> None:
        old = http._Memo("v:1", http._current_generation, time.monotonic() - 5)
        assert http._remembered(request_with(old).app) is None
        # Another request is reading it anew: the state of a moment ago answers meanwhile.
        assert http._remembered(request_with(old, reading=True).app) == "v:1"

    def test_after_this_process_published_it_is_never_used(self) -> None:
        moved = http._Memo("v:1", http._current_generation - 1, time.monotonic())
        assert http._remembered(request_with(moved).app) is None
        assert http._remembered(request_with(moved, reading=True).app) is None
