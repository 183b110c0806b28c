"""The latent spec: validation of code definitions and of user-given code values, layout, sampling and JSON."""

from __future__ import annotations

import math

import pytest
import torch

from infogan import CategoricalCode, ContinuousCode, LatentSpec

SPEC = LatentSpec(noise_dim=4, codes=(CategoricalCode("digit", 3, ("zero", "one", "two")), ContinuousCode("tilt")))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (LatentSpec(noise_dim=4, codes=()), "latent.codes is empty"),
        (LatentSpec(noise_dim=-1, codes=(ContinuousCode("a"),)), "noise_dim"),
        (LatentSpec(noise_dim=True, codes=(ContinuousCode("a"),)), "noise_dim"),
        (LatentSpec(codes=(ContinuousCode("a"), ContinuousCode("a"))), "must be unique"),
        (LatentSpec(codes=(ContinuousCode("z"),)), "not 'z'"),
        (LatentSpec(codes=(ContinuousCode("1st"),)), "not allowed"),
        (LatentSpec(codes=(ContinuousCode("has space"),)), "not allowed"),
        (LatentSpec(codes=(CategoricalCode("c", 1),)), "size must be an integer in \\[2, 1000\\]"),
        (LatentSpec(codes=(CategoricalCode("c", 2.0),)), "size must be an integer"),  # type: ignore[arg-type]
        (LatentSpec(codes=(CategoricalCode("c", 2, ("a",)),)), "labels must be 2 non-empty strings"),
        (LatentSpec(codes=(CategoricalCode("c", 2, ("a", "a")),)), "labels must be unique"),
        (LatentSpec(codes=(CategoricalCode("c", 2, ("a", "")),)), "non-empty"),
        (LatentSpec(codes=(ContinuousCode("c", 1.0, -1.0),)), "need low < high"),
        (LatentSpec(codes=(ContinuousCode("c", -100.0, 1.0),)), "need low < high"),
        (LatentSpec(codes=(ContinuousCode("c", math.nan, 1.0),)), "finite"),
    ],
)
def test_invalid_specs_raise_value_error_naming_the_problem(spec: LatentSpec, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec.validate()


def test_layout_sizes() -> None:
    assert SPEC.input_dim == 4 + 3 + 1
    assert SPEC.q_dim == 3 + 2  # logits + (mean, log_std)
    assert [c.name for c in SPEC.categorical] == ["digit"]
    assert [c.name for c in SPEC.continuous] == ["tilt"]


def test_generator_input_is_noise_then_one_hot_then_continuous() -> None:
    values = {"z": torch.zeros(2, 4), "digit": torch.tensor([2, 0]), "tilt": torch.tensor([0.5, -1.5])}
    expected = torch.tensor([[0, 0, 0, 0, 0, 0, 1, 0.5], [0, 0, 0, 0, 1, 0, 0, -1.5]])
    assert torch.equal(SPEC.to_generator_input(values), expected)


def test_split_q_output_per_code() -> None:
    q = torch.arange(10.0).view(2, 5)
    split = SPEC.split_q_output(q)
    assert torch.equal(split["digit"], q[:, :3])
    mean, log_std = split["tilt"]
    assert torch.equal(mean, q[:, 3]) and torch.equal(log_std, q[:, 4])


def test_sample_shapes_ranges_and_determinism() -> None:
    a = SPEC.sample(500, generator=torch.Generator().manual_seed(1))
    b = SPEC.sample(500, generator=torch.Generator().manual_seed(1))
    assert a.keys() == {"z", "digit", "tilt"}
    assert a["z"].shape == (500, 4) and a["digit"].dtype == torch.long and a["tilt"].shape == (500,)
    assert set(a["digit"].tolist()) == {0, 1, 2}
    assert a["tilt"].min() >= -1 and a["tilt"].max() <= 1
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("value", "index"), [(0, 0), (2, 2), (2.0, 2), ("one", 1), (torch.tensor(1), 1)])
def test_categorical_values_are_indices_or_labels(value: object, index: int) -> None:
    assert SPEC.code("digit").index_of(value) == index


@pytest.mark.parametrize("value", [3, -1, 1.5, math.nan, math.inf, "three", True, None, [1]])
def test_bad_categorical_values_name_the_code_and_the_allowed_values(value: object) -> None:
    with pytest.raises(ValueError, match=r"code 'digit'.*expected an index 0\.\.2 or one of the labels"):
        SPEC.code("digit").index_of(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 11.0, "0.5", True, None])
def test_bad_continuous_values_name_the_code_and_the_allowed_values(value: object) -> None:
    with pytest.raises(ValueError, match=r"code 'tilt'.*(finite number within ±10|expected a number)"):
        SPEC.code("tilt").check_value(value)


def test_continuous_values_may_go_beyond_the_prior() -> None:
    assert SPEC.code("tilt").check_value(-2) == -2.0
    assert SPEC.code("tilt").check_value(torch.tensor(2.5)) == 2.5


def test_resolve_values_broadcasts_scalars_and_checks_lengths() -> None:
    resolved = SPEC.resolve_values(3, {"digit": "two", "tilt": [0.0, 1.0, 2.0]})
    assert torch.equal(resolved["digit"], torch.tensor([2, 2, 2]))
    assert torch.equal(resolved["tilt"], torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="code 'tilt': got 2 values for 3 samples"):
        SPEC.resolve_values(3, {"tilt": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"unknown code 'colour'; this model's codes are \['digit', 'tilt'\]"):
        SPEC.resolve_values(1, {"colour": 1})
    with pytest.raises(ValueError, match="codes must be a mapping"):
        SPEC.resolve_values(1, [("digit", 1)])  # type: ignore[arg-type]


def test_json_round_trip_keeps_labels_and_priors() -> None:
    spec = LatentSpec(noise_dim=4, codes=(CategoricalCode("digit", 3, ("a", "b", "c")), ContinuousCode("t", -2, 3)))
    assert LatentSpec.from_dict(spec.to_dict()) == spec
    assert isinstance(LatentSpec.from_dict(spec.to_dict()).codes[0], CategoricalCode)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"noise_dim": 4}, r"missing key\(s\) \['codes'\]"),
        ({"noise_dim": 4, "codes": [], "extra": 1}, r"unknown key\(s\) \['extra'\]"),
        ({"noise_dim": 4, "codes": [{"name": "a", "kind": "gaussian"}]}, "kind 'categorical' or 'continuous'"),
        ({"noise_dim": 4, "codes": [{"name": "a", "kind": "categorical"}]}, r"missing key\(s\) \['size'\]"),
        ({"noise_dim": 4, "codes": [{"name": "a", "kind": "continuous", "sigma": 1}]}, r"unknown key\(s\) \['sigma'\]"),
        ({"noise_dim": 4, "codes": [{"name": "a", "kind": "categorical", "size": 2, "labels": "ab"}]}, "list of str"),
        ({"noise_dim": 4, "codes": {}}, "must be a list"),
    ],
)
def test_from_dict_is_strict(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LatentSpec.from_dict(data)


def test_numpy_and_torch_values_work_like_python_numbers() -> None:
    np = pytest.importorskip("numpy")
    resolved = SPEC.resolve_values(3, {"digit": np.arange(3), "tilt": np.linspace(-2, 2, 3)})
    assert torch.equal(resolved["digit"], torch.tensor([0, 1, 2]))
    assert torch.equal(resolved["tilt"], torch.tensor([-2.0, 0.0, 2.0]))
    assert torch.equal(SPEC.resolve_values(2, {"digit": [np.int64(1), torch.tensor(2)]})["digit"], torch.tensor([1, 2]))
    assert torch.equal(SPEC.resolve_values(2, {"digit": np.array(["one", "two"])})["digit"], torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="code 'digit': got 2 values for 3 samples"):
        SPEC.resolve_values(3, {"digit": np.arange(2)})


@pytest.mark.parametrize("name", ["digit", "tilt"])
def test_integers_too_large_for_a_float_are_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match=f"code '{name}'"):
        SPEC.resolve_values(1, {name: 10**400})
    with pytest.raises(ValueError, match=f"code '{name}'"):
        SPEC.resolve_values(1, {name: -(10**400)})
