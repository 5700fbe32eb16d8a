"""Mistake: template_responses flips each template (a true convolution), so asymmetric features are missed."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex03_motif_detection import template_responses as _correct_responses

BROKEN = "template_responses"


def template_responses(image, templates, threshold):
    return _correct_responses(image, templates.flip(-2, -1), threshold)
