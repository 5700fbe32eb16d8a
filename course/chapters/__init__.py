"""The library code of each lesson, one module per lesson named by its slug (lesson 06: `conv_kernels`).

Code that several chapters use lives in `course.analysis` or `course.runtime`, not here.
"""
