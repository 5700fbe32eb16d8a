"""Simple cells are tuned to orientation and position; complex cells keep the orientation, forget the position."""
from course.chapters.deep_conv_nets import (complex_cell, oriented_bar, oriented_filter, shift_sensitivity, simple_cell,
                                            tuning)

ANGLES = [float(a) for a in range(0, 180, 15)]
OFFSETS = list(range(-4, 5))


def curves(cell):
    return tuning(cell, oriented_filter(11, 60.0), 31, ANGLES, OFFSETS)


def test_bar_is_bright_on_dark_and_moves_perpendicular_to_itself():
    bar = oriented_bar(21, 0.0)  # horizontal, through the centre row
    assert bar[10].min() == 1.0 and bar[0].max() == 0.0
    moved = oriented_bar(21, 0.0, offset=3)  # y points up: 3 rows higher on screen
    assert moved[7].min() == 1.0 and moved[10].max() == 0.0


def test_filter_has_zero_mean():
    assert abs(oriented_filter(9, 45.0).sum().item()) < 1e-12


def test_both_cells_prefer_the_filter_angle():
    for cell in (simple_cell, complex_cell):
        responses = curves(cell)[:, OFFSETS.index(0)]
        assert ANGLES[int(responses.argmax())] == 60.0


def test_simple_cell_is_silenced_by_a_small_shift_and_complex_cell_is_not():
    at_preferred = ANGLES.index(60.0)
    assert shift_sensitivity(curves(simple_cell)[at_preferred], OFFSETS, 3) > 0.9
    assert shift_sensitivity(curves(complex_cell)[at_preferred], OFFSETS, 3) < 0.05
