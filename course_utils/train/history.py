"""`History`: what `fit` returns, a plain ``dict`` of per-epoch lists."""

from __future__ import annotations

import math


class History(dict):
    """Per-epoch training record: ``name -> list of values``, one entry per finished epoch.

    Keys: ``epoch`` (1-based), ``train_loss``, ``lr`` (first parameter group), ``time``
    (seconds for the epoch), and with a validation loader ``val_loss`` plus ``val_<metric>``
    for each metric. A loss returned as a dict of named terms adds ``train_<term>`` (and
    ``val_<term>``) for each term; ``train_loss`` / ``val_loss`` are then their sum. It is a real ``dict`` of lists, so it pickles, converts to JSON and
    feeds `course_utils.viz.plot_history` as is.
    """

    def append(self, row: dict[str, float]) -> None:
        """Add one epoch's values (missing keys are padded with NaN to keep lists aligned)."""
        length = len(self.get("epoch", []))
        for key in row:
            self.setdefault(key, [math.nan] * length)
        for key, values in self.items():
            values.append(float(row.get(key, math.nan)))

    def last(self, key: str) -> float:
        """The most recent value of ``key``."""
        if not self.get(key):
            raise KeyError(f"no {key!r} in the history; it has {sorted(self)}")
        return self[key][-1]

    def best(self, key: str, mode: str = "min") -> tuple[int, float]:
        """``(epoch, value)`` of the best value of ``key`` (``mode`` "min" or "max")."""
        if mode not in ("min", "max"):
            raise ValueError(f'mode must be "min" or "max", got {mode!r}')
        values = [v for v in self.get(key, []) if not math.isnan(v)]
        if not values:
            raise KeyError(f"no {key!r} values in the history; it has {sorted(self)}")
        pick = min if mode == "min" else max
        value = pick(values)
        return int(self["epoch"][self[key].index(value)]), value
