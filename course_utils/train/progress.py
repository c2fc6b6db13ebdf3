"""Progress display of `fit`: an epoch bar and a batch bar from ``tqdm.auto``.

``tqdm.auto`` draws notebook widgets in JupyterLab and Colab and text bars in a terminal. The
batch bar disappears when its epoch ends (``leave=False``), so a long run leaves one line per
run, not one per epoch; the epoch bar's postfix shows the last epoch's numbers.
"""

from __future__ import annotations

from tqdm.auto import tqdm


class Progress:
    """Both bars when ``enabled``; `write` messages when ``messages``.

    Under torchrun only rank 0 passes true for either: every rank runs the same code, and N
    copies of each line would bury the one that matters.
    """

    def __init__(self, enabled: bool = True, messages: bool = True) -> None:
        self.enabled = enabled
        self.messages = messages
        self._epochs = None
        self._batches = None

    def start(self, total_epochs: int, done: int) -> None:
        if self.enabled:
            self._epochs = tqdm(total=total_epochs, initial=done, desc="epochs", unit="epoch")

    def start_epoch(self, epoch: int, total_batches: int | None, done: int) -> None:
        if self.enabled:
            self._batches = tqdm(
                total=total_batches,
                initial=done,
                desc=f"epoch {epoch + 1}",
                unit="batch",
                leave=False,
            )

    def batch(self, losses: dict[str, float]) -> None:
        """One batch done: ``losses`` is ``{"loss": total, <term>: value, ...}``."""
        if self._batches is not None:
            shown = {k: f"{v:.4f}" if k == "loss" else f"{v:.3g}" for k, v in losses.items()}
            self._batches.set_postfix(shown, refresh=False)
            self._batches.update()

    def end_epoch(self, row: dict[str, float]) -> None:
        if self._batches is not None:
            self._batches.close()
            self._batches = None
        if self._epochs is not None:
            shown = {k: f"{v:.4g}" for k, v in row.items() if k not in ("epoch", "time")}
            self._epochs.set_postfix(shown, refresh=False)
            self._epochs.update()

    def write(self, message: str) -> None:
        """A message that does not break the bars (printed even with progress off)."""
        if self.messages:
            tqdm.write(message)

    def close(self) -> None:
        for bar in (self._batches, self._epochs):
            if bar is not None:
                bar.close()
        self._batches = self._epochs = None
