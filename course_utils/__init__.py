"""course_utils: the one library every Deep Vision notebook imports.

Modules: `env` (device, seeds, fast mode, doctor), `checks` (assertions for exercises),
`guard` (hidden tests: reference functions raise while an exercise runs), `data` (Shapes and
real datasets, a sample photo), `train` (the training loop), `conv_geometry` (output sizes,
layouts, receptive-field regions), `viz` and `widgets` (figures and interactive explorers),
`detection` (evaluation infrastructure).
"""

from .env import data_dir, doctor, fast_mode, get_device, in_colab, seed_everything

__version__ = "0.1.0"

__all__ = ["data_dir", "doctor", "fast_mode", "get_device", "in_colab", "seed_everything"]
