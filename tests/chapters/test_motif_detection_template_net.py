"""course/chapters/motif_detection.py: conv + global max is shift-invariant by construction; helpers count correctly."""
import torch

from course.chapters.motif_detection import (DenseNet, TemplateNet, accuracy_by_offset, logit_spread_over_shifts,
                                             predictions)
from course.data.letters import every_shift


def test_untrained_template_net_gives_the_same_logits_at_every_shift():
    torch.manual_seed(0)
    family = every_shift()
    groups = family.labels * 100 + family.sizes[:, 0] * 10 + family.sizes[:, 1]
    net = TemplateNet(channels=3).double()
    assert logit_spread_over_shifts(net, family.images, groups) < 1e-12
    dense = DenseNet(14 * 14).double()
    assert logit_spread_over_shifts(dense, family.images, groups) > 1e-3


def test_predictions_and_accuracy_by_offset():
    torch.manual_seed(0)
    family = every_shift()
    assert predictions(TemplateNet(), family.images).shape == (len(family),)
    correct = torch.tensor([True, False, True, True])
    offsets = torch.tensor([[0, 0], [0, 0], [1, 1], [0, 1]])
    assert accuracy_by_offset(correct, offsets).tolist() == [[0.5, 1.0], [0.0, 1.0]]
