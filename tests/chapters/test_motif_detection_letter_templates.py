"""course/chapters/motif_detection.py and course/data/letters.py: the hand-built C/D detector at every shift."""
import pytest
import torch

from course.chapters.motif_detection import (CORNER_TEMPLATES, CORNER_THRESHOLD, ENDPOINT_TEMPLATES, classify_c_or_d,
                                             count_features, raw_responses, template_responses)
from course.data.letters import LETTERS, every_shift, glyph, place


@pytest.mark.parametrize("size", [(5, 4), (6, 5), (7, 5), (9, 7)])
def test_c_has_two_endpoints_and_d_two_corners(size):
    assert count_features(place(glyph("C", *size), 3, 2)) == (2, 0)
    assert count_features(place(glyph("D", *size), 3, 2)) == (0, 2)


def test_every_shift_is_classified_correctly():
    family = every_shift()
    verdicts = torch.tensor([classify_c_or_d(image[0]) for image in family.images])
    assert torch.equal(verdicts, family.labels)
    assert set(family.labels.tolist()) == {0, 1} and LETTERS == ("C", "D")


def test_maps_move_with_the_letter():
    here = template_responses(place(glyph("D"), 0, 0), CORNER_TEMPLATES, CORNER_THRESHOLD)
    there = template_responses(place(glyph("D"), 5, 7), CORNER_TEMPLATES, CORNER_THRESHOLD)
    assert torch.equal(torch.roll(here, (5, 7), dims=(-2, -1)), there)


def test_templates_reach_their_threshold_only_on_their_own_picture():
    for templates in (ENDPOINT_TEMPLATES, CORNER_TEMPLATES):
        for template in templates:
            picture = (template > 0).double()
            assert raw_responses(picture, template[None])[0, 1, 1] == (template > 0).sum()


def test_glyphs_and_placement_reject_what_does_not_fit():
    with pytest.raises(ValueError):
        glyph("E")
    with pytest.raises(ValueError):
        place(glyph("C"), 12, 0)
