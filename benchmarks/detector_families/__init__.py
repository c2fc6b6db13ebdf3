"""One module per detector family for `benchmarks/detectors.py`.

Each module defines ``CONTENDERS``: a list of `detectors.Contender` (the course's reference
model of that family, and torchvision's counterpart where one exists). `detectors.py` finds
the modules itself, so adding a family never edits another family's rows.
"""
