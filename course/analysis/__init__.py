"""Tools for looking inside a trained CNN, each tested first on a case whose answer is known.

- `units`: address any unit as "layer:channel"; record activations through forward hooks.
- `stimuli`: synthetic images with known parameters (gratings, high-low frequency, curves, colour).
- `tuning`: a unit's responses over a stimulus grid; preferred angle and selectivity.
- `feature_vis`: the image a unit likes most, by gradient ascent in a Fourier parameterisation.
- `dataset_examples`: the data images (or crops) that most activate a unit.
- `nmf`: non-negative and one-sided matrix factorisation of weights into a few factors.
- `expanded_weights`: the linearised connection between two non-adjacent layers.
- `weight_pictures`: a unit's weights as an RGB picture (input channels reduced by NMF to 3).
- `families`: units that are rotated, mirrored or hue-shifted copies of each other; the rotation test.
- `banding`: how much of a conv layer's spatial weight variance runs along rows vs columns.

Figures for these live in `course.analysis.circuit_figures`.
"""
