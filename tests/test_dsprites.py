"""Procedural dSprites: binary 64×64 sprites in the original's index order, each factor visibly doing its job."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from infogan.data import dsprites, load_dataset
from tests.conftest import REPO_ROOT


def render(shape: int = 0, scale: int = 5, orientation: int = 0, pos_x: int = 15, pos_y: int = 15) -> np.ndarray:
    """One (64, 64) image, picked by factor classes through the flat index, as a user of the full set would."""
    index = np.ravel_multi_index((shape, scale, orientation, pos_x, pos_y), dsprites.FACTOR_SIZES)
    return dsprites.render_images(np.array([index]))[0]


def centroid(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(image)
    return float(cols.mean()), float(rows.mean())


def test_factor_grid_matches_the_original() -> None:
    assert dsprites.NUM_IMAGES == 737_280
    shape, scale, orientation, pos_x, pos_y = dsprites.factor_values()
    assert shape.tolist() == [1, 2, 3] and scale.tolist() == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert len(orientation) == 40 and orientation[0] == 0 and orientation[-1] == pytest.approx(2 * math.pi)
    assert len(pos_x) == len(pos_y) == 32 and pos_x[0] == 0 and pos_x[-1] == 1


def test_factor_classes_follow_the_index_order_pos_y_fastest() -> None:
    classes = dsprites.factor_classes()
    assert classes.shape == (737_280, 5) and classes.dtype == torch.int64
    assert classes[0].tolist() == [0, 0, 0, 0, 0] and classes[-1].tolist() == [2, 5, 39, 31, 31]
    assert classes[1].tolist() == [0, 0, 0, 0, 1] and classes[32].tolist() == [0, 0, 0, 1, 0]
    assert classes[32 * 32 * 40 * 6].tolist() == [1, 0, 0, 0, 0]
    picked = torch.tensor([12345, 700_000])
    assert torch.equal(dsprites.factor_classes(picked), classes[picked])
    values = dsprites.classes_to_values(classes[[0, -1]])
    assert values[1].tolist() == pytest.approx([3.0, 1.0, 2 * math.pi, 1.0, 1.0])


def test_images_are_binary_uint8_64x64() -> None:
    images = dsprites.render_images(np.array([0, 1000, 400_000, 737_279]))
    assert images.shape == (4, 64, 64) and images.dtype == np.uint8
    assert set(np.unique(images).tolist()) == {0, 255}
    assert (images > 0).sum((1, 2)).min() > 20


def test_position_moves_the_sprite_one_pixel_per_step_left_to_right_top_to_bottom() -> None:
    x0, y0 = centroid(render(pos_x=0, pos_y=0))
    x1, y1 = centroid(render(pos_x=31, pos_y=31))
    assert (x0, y0) == pytest.approx((16, 16), abs=0.6) and (x1, y1) == pytest.approx((47, 47), abs=0.6)
    # posX is the column, posY the row: moving one changes only that coordinate, by exactly one pixel per class.
    assert np.array_equal(np.roll(render(pos_x=3), 1, axis=1), render(pos_x=4))
    assert np.array_equal(np.roll(render(pos_y=3), 1, axis=0), render(pos_y=4))
    for image in (render(shape=0, pos_x=0, pos_y=31), render(shape=2, pos_x=31, pos_y=0)):
        assert not image[[0, -1]].any() and not image[:, [0, -1]].any(), "sprites stay inside the image"


def test_scale_grows_the_sprite_and_the_shapes_differ() -> None:
    counts = np.array([[(render(shape=s, scale=k) > 0).sum() for k in range(6)] for s in range(3)])
    assert (np.diff(counts, axis=1) > 0).all(), counts
    # An unrotated square is exactly 2R·scale = 10..20 pixels wide (its centre sits on a pixel corner).
    assert counts[0].tolist() == [10**2, 12**2, 14**2, 16**2, 18**2, 20**2]
    assert 0.3 < counts[1, 5] / counts[0, 5] < 0.5  # a 1:2 ellipse in the square's box covers π/8 ≈ 0.39 of it
    images = [render(shape=s) for s in range(3)]
    assert all(not np.array_equal(a, b) for i, a in enumerate(images) for b in images[i + 1 :])


def test_orientation_turns_the_sprite_anticlockwise() -> None:
    sprites = dsprites.render_sprites()  # (3, 6, 40, 32, 32), centred on the window's middle corner
    square = sprites[0, 5]
    assert np.array_equal(np.rot90(square[0]), square[0])
    # Class 10 is 10·2π/39 ≈ 92°: a quarter turn of the square is itself, up to the last 2.3° of edge pixels.
    assert (square[10] != square[0]).sum() < 0.1 * square[0].sum()
    # The heart points down at 0; a quarter turn anticlockwise makes it point right (its lobes on the left).
    heart = sprites[2, 5]
    assert heart[0, :16].sum() > heart[0, 16:].sum()
    assert heart[10, :, :16].sum() > heart[10, :, 16:].sum()
    assert np.array_equal(heart[0], heart[39]), "the original's orientation grid includes 2π, a copy of 0"


def test_full_build_and_subset_agree_in_content_and_order() -> None:
    indices = dsprites.subset_indices()
    assert len(indices) == dsprites.SUBSET_SIZE and np.array_equal(indices, dsprites.subset_indices())
    assert (np.diff(indices) > 0).all()
    picked = indices[::9973]
    by_index = dsprites.render_images(picked)
    for image, index in zip(by_index, picked, strict=True):
        assert np.array_equal(image, render(*np.unravel_index(index, dsprites.FACTOR_SIZES)))


def test_bad_indices_are_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"dSprites indices must be a 1-D array of integers in \[0, 737280\)"):
        dsprites.render_images(np.array([737_280]))


def test_small_loader_needs_no_files_and_carries_the_factors(tmp_path: Path) -> None:
    data = load_dataset("dsprites-small", tmp_path / "absent", 64, 1)
    assert data.images.shape == (100_000, 1, 64, 64) and data.images.dtype == torch.uint8 and data.labels is None
    assert data.factors is not None and data.factors.shape == (100_000, 5)
    first = data.factors[0].tolist()
    assert np.array_equal(data.images[0, 0].numpy(), render(*first))
    assert not (tmp_path / "absent").exists(), "procedural: nothing is written"
    with pytest.raises(ValueError, match="dSprites images are 64x64; set the model's image_size to 64"):
        load_dataset("dsprites-small", tmp_path, 28, 1)


@pytest.mark.slow
def test_full_loader_is_every_image_in_order(tmp_path: Path) -> None:
    data = load_dataset("dsprites", tmp_path, 64, 1)  # 3 GB
    assert data.images.shape == (737_280, 1, 64, 64) and data.images.dtype == torch.uint8
    assert torch.equal(data.factors, dsprites.factor_classes())
    for index in (0, 98_765, 737_279):
        assert np.array_equal(data.images[index, 0].numpy(), render(*data.factors[index].tolist()))


def test_build_benchmark_reports_time_and_memory(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("dsprites_build", REPO_ROOT / "benchmarks" / "dsprites_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--small"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "dsprites-small" and result["images"] == 100_000
    assert result["build_s"] > 0 and result["peak_rss_mb"] > 400 and result["machine"].startswith("CPU")
