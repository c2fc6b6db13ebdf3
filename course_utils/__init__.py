"""course_utils: the one library every Deep Vision notebook imports.

Modules: `env` (device, seeds, fast mode, doctor), `checks` (assertions for exercises),
`exercises` (`needs`, one-line failures), `guard` (hidden tests: reference functions raise
while an exercise runs), `data` (Shapes and real datasets, a sample photo), `train` (the
training loop), `conv_geometry` (output sizes, layouts, receptive-field regions), `viz` and
`widgets` (figures and interactive explorers), `detection` (evaluation infrastructure).

Importing it in a notebook kernel makes an unwritten exercise and a failed check show as one
line instead of a traceback (`course_utils.exercises.install`).
"""

from . import exercises
from . import integrity as integrity  # takes the originals before any student code runs
from .env import data_dir, doctor, fast_mode, get_device, in_colab, seed_everything
from .exercises import needs

__version__ = "0.1.0"

__all__ = ["data_dir", "doctor", "fast_mode", "get_device", "in_colab", "needs", "seed_everything"]

exercises.install()
