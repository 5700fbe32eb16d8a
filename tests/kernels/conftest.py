"""Kernel tests: an operator that autograd would backpropagate through without a formula is an error.

PyTorch only warns ("an autograd kernel was not registered to the Autograd key(s) but we are trying
to backprop through it") and then returns zeros, a silently wrong gradient. Every operator of this
package registers its derivatives (kernels/operators.py), so the warning must never appear: here it
fails the test that triggers it, in this folder and in any session that collects it.
"""

MISSING_AUTOGRAD_WARNING = "error:.*autograd kernel was not registered:UserWarning"


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", MISSING_AUTOGRAD_WARNING)
