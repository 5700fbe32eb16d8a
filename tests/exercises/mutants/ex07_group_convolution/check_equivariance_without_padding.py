"""Mistake: check_equivariance lifts without padding (valid convolution), so it measures a different layer."""
import torch.nn.functional as F

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403
from course.exercises.ex07_group_convolution import p4_lift_filter_bank, rotate_feature_map, rotate_filters

BROKEN = "check_equivariance"


def check_equivariance(weight, x, stride=1):
    def lift(images):
        out = F.conv2d(images, p4_lift_filter_bank(weight), stride=stride, padding=0)
        return out.reshape(out.shape[0], weight.shape[0], 4, *out.shape[-2:])

    lifted = lift(x)
    return max(float((lift(rotate_filters(x, r)) - rotate_feature_map(lifted, r)).abs().max()) for r in (1, 2, 3))
