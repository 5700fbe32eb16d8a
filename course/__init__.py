"""Conv Circuits: a course on convolutional networks.

`python -m course list` shows the lessons and exercises; `python -m course run 04`
runs a lesson; `python -m course grade` grades the exercises.
"""
from pathlib import Path

__version__ = "0.1.0"

# The checkout this package was installed from (editable install): lessons/ and
# tests/ live beside the package, not inside it.
CHECKOUT_ROOT = Path(__file__).resolve().parent.parent
