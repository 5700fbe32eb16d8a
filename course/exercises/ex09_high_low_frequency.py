"""Exercise 09 (lesson 09, high-low frequency detectors): a tuning table and one-sided NMF by hand.

Part 1 turns a unit's responses to a set of stimuli into its tuning table over boundary
orientation × frequency. Part 2 builds, step by step, the one-sided NMF that splits a family's
expanded weights V (rows: member and position, columns: early channels) into signed spatial
maps W and non-negative channel factors H, V ≈ W @ H:

    V = expanded_weight_matrix(E)
    W, H = one_sided_nmf(V, H0, iters)      # alternating: W by least squares, H by one HALS sweep

Only torch is needed. The course's own NMF and tuning tools (`course.analysis.nmf`,
`course.analysis.tuning`) are switched off while your code is graded. Do not change your
arguments in place: return new tensors.

Check your work with `python -m course grade ex09`.
"""
import torch


def tuning_table(responses: torch.Tensor, orientations: torch.Tensor, frequencies: torch.Tensor):
    """A unit's tuning over orientation × frequency, from its responses to N stimuli.

    responses, orientations, frequencies: (N,) each; stimulus n has orientation orientations[n]
    and frequency frequencies[n] (other parameters, such as the phase, vary among stimuli that
    share both). Returns (orientation_values (O,), frequency_values (Fr,), table (O, Fr)):
    the distinct orientations and the distinct frequencies, each sorted ascending (values
    equal exactly count as one), and table[a, b] = the LARGEST response over the stimuli with
    orientation orientation_values[a] and frequency frequency_values[b] (the unit picks its
    best phase), or nan when no stimulus has that pair. The table has the responses' dtype.
    """
    # BEGIN SOLUTION
    orientation_values, row = torch.unique(orientations, return_inverse=True)
    frequency_values, column = torch.unique(frequencies, return_inverse=True)
    table = torch.full((len(orientation_values), len(frequency_values)), float("nan"), dtype=responses.dtype)
    cell = (row * len(frequency_values) + column).reshape(-1)
    table = table.reshape(-1).scatter_reduce(0, cell, responses.reshape(-1), reduce="amax", include_self=False)
    return orientation_values, frequency_values, table.reshape(len(orientation_values), len(frequency_values))
    # END SOLUTION


def expanded_weight_matrix(expanded: torch.Tensor) -> torch.Tensor:
    """Lay a family's expanded weights out as the matrix NMF factors: (F, C, kh, kw) -> (F*kh*kw, C).

    expanded[f, c, i, j] is the weight from early channel c at tap (i, j) into family member f.
    Row f*kh*kw + i*kw + j of the result holds that member's weights at tap (i, j) over all C
    channels: entry [f*kh*kw + i*kw + j, c] = expanded[f, c, i, j]. Same dtype.
    """
    # BEGIN SOLUTION
    members, channels, kh, kw = expanded.shape
    return expanded.permute(0, 2, 3, 1).reshape(members * kh * kw, channels)
    # END SOLUTION


def least_squares_spatial(V: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """The best signed spatial maps for given channel factors: W (M, R) minimising ||V - W @ H||.

    V: (M, K); H: (R, K) with linearly independent rows (R <= K). W has any sign, so this is
    ordinary least squares, row by row of V; its solution is W = V Hᵀ (H Hᵀ)⁻¹. Same dtype as V.
    """
    # BEGIN SOLUTION
    gram = H @ H.T
    return torch.linalg.solve(gram, H @ V.T).T
    # END SOLUTION


def update_channel_factors(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """One HALS sweep over the rows of the non-negative channel factors H (R, K), for V ≈ W @ H.

    V: (M, K); W: (M, R). For r = 0, 1, ..., R-1 in that order, replace row r by

        H[r] <- max(0, H[r] + W[:, r]ᵀ (V - W @ H) / ||W[:, r]||²)      (elementwise max)

    where H is the current H: rows before r already hold their new values. This is the best
    non-negative row r with every other row held fixed. A row whose column W[:, r] is all
    zero is left as it is. Returns the new H (a new tensor; H itself is not changed), same dtype.
    """
    # BEGIN SOLUTION
    H = H.clone()
    for r in range(H.shape[0]):
        norm = W[:, r] @ W[:, r]
        if norm > 0:
            H[r] = (H[r] + W[:, r] @ (V - W @ H) / norm).clamp_min(0)
    return H
    # END SOLUTION


def one_sided_nmf(V: torch.Tensor, H0: torch.Tensor, iters: int):
    """One-sided NMF of a signed V (M, K) from the starting factors H0 (R, K) >= 0: returns (W, H).

    H starts as H0. Repeat `iters` times: W = least_squares_spatial(V, H), then
    H = update_channel_factors(V, W, H). Finally W = least_squares_spatial(V, H) once more, so
    the W returned is the best for the H returned. Returns (W (M, R), H (R, K)); H0 is not changed.
    """
    # BEGIN SOLUTION
    H = H0.clone()
    for _ in range(iters):
        H = update_channel_factors(V, least_squares_spatial(V, H), H)
    return least_squares_spatial(V, H), H
    # END SOLUTION
