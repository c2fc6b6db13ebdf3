"""The course's training loop.

`fit` trains any model with any optimizer: progress bars, metric `History`, live curves,
atomic checkpoints with exact resume, AMP and channels-last on CUDA, and DDP under torchrun.
`make_loader` builds a DataLoader with the right settings for the device.

    history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, epochs=10,
                  val_loader=val_loader, metrics={"accuracy": accuracy},
                  checkpoint_dir="checkpoints/lenet", resume=True)
"""

from .batches import evaluate, move_to
from .checkpoint import CheckpointError, CheckpointWarning, colab_drive_dir, load_latest
from .history import History
from .loaders import make_loader
from .loop import fit
from .metrics import accuracy

__all__ = [
    "CheckpointError",
    "CheckpointWarning",
    "History",
    "accuracy",
    "colab_drive_dir",
    "evaluate",
    "fit",
    "load_latest",
    "make_loader",
    "move_to",
]
