"""Hostile ex04: the module calls os._exit while it is being imported."""
import os

os._exit(1)
