"""Test-session setup shared by every test folder."""
import os

import torch

if not torch.cuda.is_available():
    # Without a GPU Triton runs only in its interpreter, which must be chosen before triton is imported.
    os.environ.setdefault("TRITON_INTERPRET", "1")
