"""Install the course as the distribution "conv-circuits".

Pure Python on purpose: nothing here imports torch or needs a compiler, so pip's
isolated build never pulls a second torch. The C++/CUDA kernels are compiled on
first use, not at install time.
"""
from setuptools import find_packages, setup

setup(
    name="conv-circuits",
    version="0.1.0",
    description="A course on convolutional networks: from folding the plane to circuits in trained CNNs",
    python_requires=">=3.10",
    packages=find_packages(include=["course", "course.*", "kernels", "kernels.*"]),
    package_data={"course": ["models/checkpoints/*"], "kernels": ["csrc/*", "csrc/cpu/*", "csrc/cuda/*"]},
    install_requires=["torch>=2.4", "numpy", "matplotlib", "tqdm"],
    entry_points={"console_scripts": ["conv-circuits=course.__main__:main"]},
)
