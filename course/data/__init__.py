"""Synthetic, seeded data: signals, images and stimuli generated in code, never downloaded."""
