"""course_utils: the one library every Deep Vision notebook imports.

Modules: `env` (device, seeds, fast mode, doctor), `checks` (assertions for exercises),
`data` (Shapes and real datasets), `train` (the training loop), `viz` and `widgets` (figures
and interactive explorers), `detection` (evaluation infrastructure).
"""

from .env import data_dir, doctor, fast_mode, get_device, in_colab, seed_everything

__version__ = "0.1.0"

__all__ = ["data_dir", "doctor", "fast_mode", "get_device", "in_colab", "seed_everything"]
