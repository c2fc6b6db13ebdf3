"""A step-based learning-rate schedule run on the clock, for benchmarks with a wall-clock budget.

A one-cycle schedule needs its length in steps, which a time budget cannot know in advance
(it depends on the machine). `BudgetSchedule` moves the scheduler to the elapsed fraction of
the budget after each step, so the schedule ends when the budget does on any machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class BudgetSchedule:
    """Drives a step-based scheduler (e.g. OneCycleLR over ``resolution`` steps) by the clock.

    ``step()`` after each optimizer step moves the scheduler to the elapsed fraction of
    ``budget_s`` (counted from the first call); with ``steps`` given it counts steps instead.
    Past the end the learning rate stays at the schedule's last value. ``clock`` is the time
    source (``time.process_time`` counts CPU seconds of this process instead of wall time).
    """

    def __init__(
        self,
        scheduler,
        resolution: int,
        budget_s: float,
        steps: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.scheduler, self.resolution = scheduler, resolution
        self.budget_s, self.steps, self.clock = budget_s, steps, clock
        self.started: float | None = None
        self.done = 0

    def step(self) -> None:
        if self.started is None:
            self.started = self.clock()
        self.done += 1
        if self.steps is not None:
            fraction = self.done / self.steps
        else:
            fraction = (self.clock() - self.started) / max(self.budget_s, 1e-9)
        target = min(int(fraction * self.resolution), self.resolution - 1)
        while self.scheduler.last_epoch < target:
            self.scheduler.step()
