"""Graded tests for exercise 03 (course/exercises/ex03_motif_detection.py): motif detection by hand.

Every result is compared with what PyTorch computes here, in the test process: windows
with Tensor.unfold, scores with a matrix product and max, gradients with autograd, and
template maps with F.conv2d. The submission runs in a sandbox process
(`course.grading.sandbox`) where those functions, autograd and the course's own
`course.chapters.motif_detection` / `course.chapters.motif_detection` are switched off.

Tolerance: torch.testing.assert_close's defaults (float64: rtol 1e-7, atol 1e-7; float32:
rtol 1.3e-6, atol 1e-5), which any summation order of these few small terms meets;
windows and positions are exact. assert_close also checks shape and dtype. Thresholds on
random cases sit midway between two neighbouring responses, so rounding never decides a
pixel; the letter cases use 0/1 images and +-1 templates, whose responses are exact
integers, so a response *equal* to the threshold is tested on purpose.
"""
import pytest
import torch
import torch.nn.functional as F

from course.grading.random_cases import randint, randn
from course.grading.sandbox import exercise

FORBIDDEN = [
    "torch.nn.functional.conv1d",
    "torch.nn.functional.conv2d",
    "torch.nn.functional.unfold",
    "torch.conv1d",
    "torch.conv2d",
    "torch.convolution",
    "torch.Tensor.unfold",
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.Tensor.backward",
    "course.chapters.motif_detection.sliding_windows",
    "course.chapters.motif_detection.motif_score",
    "course.chapters.motif_detection.template_responses",
    "course.chapters.motif_detection.raw_responses",
]

ex03 = exercise("ex03_motif_detection", forbid=FORBIDDEN)


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


# --------------------------------------------------------------------------------------
# References, computed here with PyTorch
# --------------------------------------------------------------------------------------

def reference_windows(x, k):
    return x.unfold(0, k, 1).clone()


def reference_score(x, w):
    return (x.unfold(1, len(w), 1) @ w).max(dim=1)


def reference_gradient(x, w):
    w = w.detach().clone().requires_grad_()
    scores, _ = reference_score(x, w)
    gradient, = torch.autograd.grad(scores.sum(), w)
    return gradient


def reference_responses(image, templates, threshold):
    k = templates.shape[-1]
    response = F.conv2d(image[None, None], templates[:, None], padding=k // 2)[0]
    return (response >= threshold).to(image.dtype)


# --------------------------------------------------------------------------------------
# sliding_windows
# --------------------------------------------------------------------------------------

WINDOW_EDGE_CASES = {  # (x, k)
    "window_as_long_as_the_sequence": (f64([1.0, -2.0, 3.0, 0.5]), 4),
    "single_entry_windows": (f64([1.0, -2.0, 3.0, 0.5]), 1),
    "asymmetric_values_keep_their_order": (f64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), 3),
    "float32_stays_float32": (torch.linspace(-1.0, 1.0, 9), 4),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(WINDOW_EDGE_CASES))
def test_sliding_windows_matches_unfold_on_edge_cases(case):
    x, k = WINDOW_EDGE_CASES[case]
    torch.testing.assert_close(ex03.sliding_windows(x, k), reference_windows(x, k))


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [301, 302])
def test_sliding_windows_matches_unfold_on_random_cases(seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(5):
        n = randint(1, 30, g)
        k = randint(1, n, g)
        x = randn(n, generator=g)
        torch.testing.assert_close(ex03.sliding_windows(x, k), reference_windows(x, k), msg=lambda m: f"{m}\nn={n}, k={k}")


# --------------------------------------------------------------------------------------
# motif_score
# --------------------------------------------------------------------------------------

def score_case(N, n, k, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return randn(N, n, generator=g, dtype=dtype), randn(k, generator=g, dtype=dtype)


SCORE_EDGE_CASES = {  # (x, w)
    "one_sequence": score_case(1, 12, 3, 0),
    "one_window_per_sequence": score_case(4, 5, 5, 1),
    "one_tap_detector_is_the_max_entry": score_case(3, 8, 1, 2),
    "float32_stays_float32": score_case(5, 10, 4, 3, torch.float32),
}


def assert_scores_match(result, x, w):
    assert isinstance(result, (tuple, list)) and len(result) == 2, "motif_score must return (scores, positions)"
    scores, positions = reference_score(x, w)
    torch.testing.assert_close(result[0], scores, msg=lambda m: f"scores: {m}")
    torch.testing.assert_close(result[1], positions, msg=lambda m: f"positions: {m}")


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(SCORE_EDGE_CASES))
def test_motif_score_matches_reference_on_edge_cases(case):
    x, w = SCORE_EDGE_CASES[case]
    assert_scores_match(ex03.motif_score(x, w), x, w)


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [311, 312])
def test_motif_score_matches_reference_on_random_cases(seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(4):
        N, n = randint(2, 6, g), randint(2, 25, g)
        k = randint(1, n, g)
        x, w = randn(N, n, generator=g), randn(k, generator=g)
        assert_scores_match(ex03.motif_score(x, w), x, w)


@pytest.mark.points(2)
def test_motif_score_finds_planted_motifs():
    g = torch.Generator().manual_seed(313)
    motif = f64([1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0])
    planted = torch.tensor([0, 9, 17, 33, 5])  # includes the first and the last window of 40 - 7 + 1
    x = 0.1 * randn(len(planted), 40, generator=g)
    for b, start in enumerate(planted.tolist()):
        x[b, start:start + len(motif)] += motif
    scores, positions = ex03.motif_score(x, motif)
    torch.testing.assert_close(positions, planted)
    torch.testing.assert_close(scores, reference_score(x, motif)[0])


# --------------------------------------------------------------------------------------
# motif_score_gradient
# --------------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(SCORE_EDGE_CASES))
def test_motif_score_gradient_matches_autograd_on_edge_cases(case):
    x, w = SCORE_EDGE_CASES[case]
    torch.testing.assert_close(ex03.motif_score_gradient(x, w), reference_gradient(x, w))


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [321, 322])
def test_motif_score_gradient_matches_autograd_on_random_cases(seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(4):
        N, n = randint(2, 8, g), randint(2, 25, g)
        k = randint(1, n, g)
        x, w = randn(N, n, generator=g), randn(k, generator=g)
        torch.testing.assert_close(ex03.motif_score_gradient(x, w), reference_gradient(x, w),
                                   msg=lambda m: f"{m}\nN={N}, n={n}, k={k}")


# --------------------------------------------------------------------------------------
# template_responses
# --------------------------------------------------------------------------------------

ENDPOINT = f64([[-1, -1, -1], [1, 1, -1], [-1, -1, -1]])  # a stroke ending at the centre, from the left
CORNER = f64([[-1, -1, -1], [-1, 1, 1], [-1, 1, -1]])    # a top-left corner


def letter(name):
    """A 9 x 8 image with a 5 x 4 pixel C or D on a zero background."""
    image = torch.zeros(9, 8, dtype=torch.float64)
    if name == "C":
        image[2, 3:7] = image[6, 3:7] = 1
        image[3:6, 2] = 1
    else:
        image[2, 2:5] = image[6, 2:5] = 1
        image[2:7, 2] = 1
        image[3:6, 5] = 1
    return image


def turns(template):
    return torch.stack([torch.rot90(template, r, dims=(0, 1)) for r in range(4)])


@pytest.mark.points(2)
def test_template_responses_counts_a_response_equal_to_the_threshold():
    # The C's two stroke ends match the endpoint template perfectly: response exactly 2.0.
    result = ex03.template_responses(letter("C"), ENDPOINT[None], 2.0)
    expected = torch.zeros(1, 9, 8, dtype=torch.float64)
    expected[0, 2, 6] = expected[0, 6, 6] = 1.0
    torch.testing.assert_close(result, expected)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", ["C", "D"])
@pytest.mark.parametrize("kind", ["endpoint", "corner"])
def test_template_responses_matches_reference_on_letters(name, kind):
    templates, threshold = (turns(ENDPOINT), 2.0) if kind == "endpoint" else (turns(CORNER), 3.0)
    image = letter(name)
    torch.testing.assert_close(ex03.template_responses(image, templates, threshold),
                               reference_responses(image, templates, threshold))


def midway_threshold(image, templates):
    """A threshold halfway between the two middle responses: about half the pixels pass, none by rounding."""
    k = templates.shape[-1]
    values = F.conv2d(image[None, None], templates[:, None], padding=k // 2).flatten().sort().values
    middle = len(values) // 2
    return float((values[middle - 1] + values[middle]) / 2)


def responses_case(H, W, T, k, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    image, templates = randn(H, W, generator=g, dtype=dtype), randn(T, k, k, generator=g, dtype=dtype)
    return image, templates, midway_threshold(image, templates)


RESPONSES_EDGE_CASES = {  # (image, templates, threshold)
    "one_by_one_templates": responses_case(5, 6, 2, 1, 0),
    "rectangular_image": responses_case(4, 9, 3, 3, 1),
    "template_larger_than_image": responses_case(3, 4, 2, 5, 2),
    "one_template": responses_case(6, 6, 1, 3, 3),
    "float32_stays_float32": responses_case(7, 5, 2, 3, 4, torch.float32),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(RESPONSES_EDGE_CASES))
def test_template_responses_matches_reference_on_edge_cases(case):
    image, templates, threshold = RESPONSES_EDGE_CASES[case]
    torch.testing.assert_close(ex03.template_responses(image, templates, threshold),
                               reference_responses(image, templates, threshold))


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [331, 332])
def test_template_responses_matches_reference_on_random_cases(seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(3):
        H, W, T, k = randint(1, 10, g), randint(1, 10, g), randint(1, 4, g), 2 * randint(0, 2, g) + 1
        image, templates = randn(H, W, generator=g), randn(T, k, k, generator=g)
        threshold = midway_threshold(image, templates) if H * W * T > 1 else 0.0
        torch.testing.assert_close(ex03.template_responses(image, templates, threshold),
                                   reference_responses(image, templates, threshold),
                                   msg=lambda m: f"{m}\nimage {H}x{W}, {T} templates of {k}x{k}, threshold {threshold}")
