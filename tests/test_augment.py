"""DiffAugment ops: shapes kept, differentiable, each op does what it says, policies parsed strictly."""

from __future__ import annotations

import pytest
import torch

from infogan.training.augment import augment, parse_policy


def test_translation_moves_content_by_whole_pixels_within_the_ratio() -> None:
    image = torch.zeros(64, 1, 16, 16)
    image[:, :, 8, 8] = 1.0  # one lit pixel per image
    shifted = augment(image, "translation:0.125", torch.Generator().manual_seed(0))
    assert shifted.shape == image.shape
    positions = shifted[:, 0].flatten(1).argmax(1)
    rows, cols = positions // 16, positions % 16
    assert shifted.sum(dim=(1, 2, 3)).eq(1).all()  # moved, not blurred or lost (a 2-pixel shift stays inside)
    assert rows.sub(8).abs().max() <= 2 and cols.sub(8).abs().max() <= 2
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 5  # per-image shifts, not one for the batch


def test_cutout_zeroes_one_square_and_color_changes_values() -> None:
    image = torch.ones(8, 3, 20, 20)
    cut = augment(image, "cutout:0.5", torch.Generator().manual_seed(0))
    assert cut.eq(0).sum(dim=(1, 2, 3)).eq(3 * 10 * 10).all()
    colored = augment(torch.rand(8, 3, 20, 20), "color", torch.Generator().manual_seed(0))
    assert colored.shape == (8, 3, 20, 20) and not torch.allclose(colored, image)


@pytest.mark.parametrize("policy", ["translation", "cutout", "color", "rotation", "translation,cutout,color,rotation"])
def test_every_op_passes_gradients_to_the_image(policy: str) -> None:
    image = torch.rand(4, 3, 16, 16, requires_grad=True)
    augment(image, policy, torch.Generator().manual_seed(1)).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_empty_policy_is_identity_and_bad_policies_are_refused() -> None:
    image = torch.rand(2, 1, 8, 8)
    assert augment(image, "") is image
    assert parse_policy("translation:0.1, cutout") == [("translation", 0.1), ("cutout", 0.5)]
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        parse_policy("flip")
    with pytest.raises(ValueError, match="must be a number"):
        parse_policy("cutout:big")
    with pytest.raises(ValueError, match=r"strength must lie in \[0, 1\]"):
        parse_policy("translation:3")


def test_rotation_turns_a_bar_by_at_most_the_ratio() -> None:
    image = torch.zeros(200, 1, 33, 33)
    image[:, :, 4:29, 16] = 1.0  # a vertical bar through the centre
    turned = augment(image, "rotation:0.2", torch.Generator().manual_seed(0))  # at most ±18°
    assert turned.shape == image.shape
    # The bar's angle from the image moments: never more than 18° (+ sampling slack), and different per image.
    ys, xs = torch.meshgrid(torch.arange(33.0) - 16, torch.arange(33.0) - 16, indexing="ij")
    w = turned[:, 0]
    mxy, myy = (w * xs * ys).sum((1, 2)), (w * ys * ys).sum((1, 2))
    angles = torch.rad2deg(torch.atan2(mxy, myy)).abs()
    assert angles.max() <= 19.5 and angles.max() > 12 and angles.std() > 3
    assert torch.allclose(augment(image, "rotation:0", torch.Generator()), image, atol=1e-5)
