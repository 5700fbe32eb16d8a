"""The shapes data set: deterministic for a seed, separate splits, balanced classes, a fixed pixel shuffle."""
import torch

from course.data.shapes import CLASSES, Shapes, permute_pixels, pixel_permutation


def test_same_seed_gives_the_same_images_and_labels():
    a, b = Shapes("train", n=64, seed=3), Shapes("train", n=64, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_train_and_test_splits_are_different_images():
    train, test = Shapes("train", n=64), Shapes("test", n=64)
    assert not torch.equal(train.images, test.images)


def test_items_are_float_images_and_integer_labels_of_every_class():
    data = Shapes("test", n=500)
    image, label = data[0]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32 and label.dtype == torch.int64
    counts = torch.bincount(data.labels, minlength=len(CLASSES))
    assert len(data) == 500 and counts.min() > 60  # about 100 of each of the 5 classes


def test_shapes_are_brighter_than_their_background():
    data = Shapes("train", n=32)
    for image, centre in zip(data.images, data.centres):
        r, c = centre.round().long().tolist()
        # The centre of a disc, square, triangle, cross or line is inside it.
        assert image[0, r - 1:r + 2, c - 1:c + 2].mean() > image[0].median()


def test_colour_images_have_three_channels():
    assert Shapes("train", n=8, colour=True).images.shape == (8, 3, 32, 32)


def test_pixel_shuffle_is_one_fixed_permutation_that_loses_no_pixel():
    plain, shuffled = Shapes("test", n=16), Shapes("test", n=16, permutation_seed=5)
    order = pixel_permutation(32, 5)
    assert torch.equal(shuffled.images, permute_pixels(plain.images, order))
    assert torch.equal(shuffled.images.flatten(1).sort().values, plain.images.flatten(1).sort().values)
    assert torch.equal(order, pixel_permutation(32, 5)) and not torch.equal(order, pixel_permutation(32, 6))


def test_shuffling_a_generated_set_equals_generating_it_shuffled():
    shuffled = Shapes("test", n=16).with_pixels_shuffled(5)
    assert torch.equal(shuffled.images, Shapes("test", n=16, permutation_seed=5).images)
    assert shuffled.permutation_seed == 5
