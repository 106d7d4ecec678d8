"""An event-loop probe: how long the UI thread was busy, per action.

A :class:`LoopProbe` is a 5 ms ``QTimer`` on the UI thread; the gap between two of its ticks is how long the event
loop could not turn (a click, a repaint or a key would have waited that long). :meth:`LoopProbe.action` names what
the user is doing, and the largest gap is kept per name, so a test or a benchmark can say which action blocked.

A gap is the UI thread's own work plus time it waited: for a core (a loaded machine) or for the GIL (another
thread in a long call that holds it). ``busy`` keeps, per action, the largest CPU time the UI thread itself spent
between two ticks (``time.thread_time``): its own work, whatever the machine's load.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer


class LoopProbe:
    """Records the largest gap between ticks of a short timer, overall and per named action."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.ticks = 0
        self.max_gap = 0.0
        self.gaps: dict[str, float] = {}
        self.busy: dict[str, float] = {}
        self.current = ""
        self._last: float | None = None
        self._cpu = 0.0
        self.timer = QTimer(interval=interval_ms, timeout=self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if self._last is not None:
            gap = now - self._last
            self.max_gap = max(self.max_gap, gap)
            self.gaps[self.current] = max(self.gaps.get(self.current, 0.0), gap)
            self.busy[self.current] = max(self.busy.get(self.current, 0.0), cpu - self._cpu)
        self._last, self._cpu, self.ticks = now, cpu, self.ticks + 1

    def start(self, action: str = "") -> LoopProbe:
        self.current = action
        self._last, self._cpu = time.perf_counter(), time.thread_time()
        self.timer.start()
        return self

    def action(self, name: str) -> None:
        """Gaps from now on (the one in progress included) count for ``name``."""
        self.current = name
        self.gaps.setdefault(name, 0.0)
        self.busy.setdefault(name, 0.0)

    def stop(self) -> None:
        self._tick()  # a gap still open when the probe stops counts too
        self.timer.stop()

    def report(self) -> str:
        return ", ".join(f"{n or 'idle'} {1000 * g:.0f} ms (UI thread busy {1000 * self.busy.get(n, 0):.0f} ms)"
                         for n, g in self.gaps.items())
