"""The latent layout of an InfoGAN: incompressible noise z plus named, structured codes c.

The paper (Chen et al. 2016, Sec. 4) splits the generator input into noise z and latent codes c whose mutual
information with the image is maximised. Here each code is a small spec object with a name, so the rest of the
toolkit (training, the explorer, the API) can address codes by name instead of by slice index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

CODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,39}$")


@dataclass(frozen=True)
class CategoricalCode:
    """A code drawn uniformly from `size` categories, fed to G as a one-hot vector."""

    name: str
    size: int
    labels: tuple[str, ...] | None = None  # human names per category, e.g. the digit a category draws
    kind: Literal["categorical"] = "categorical"

    @property
    def width(self) -> int:
        """Number of generator inputs this code occupies (one-hot)."""
        return self.size

    @property
    def q_outputs(self) -> int:
        """Number of Q-head outputs for this code (one logit per category)."""
        return self.size

    def validate(self) -> None:
        _check_name(self.name)
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 2 <= self.size <= 1000:
            raise ValueError(f"categorical code {self.name!r}: size must be an integer in [2, 1000], got {self.size!r}")
        if self.labels is not None:
            if len(self.labels) != self.size or not all(isinstance(x, str) and x for x in self.labels):
                raise ValueError(
                    f"categorical code {self.name!r}: labels must be {self.size} non-empty strings, got {self.labels!r}"
                )
            if len(set(self.labels)) != len(self.labels):
                raise ValueError(f"categorical code {self.name!r}: labels must be unique, got {self.labels!r}")

    def label_of(self, index: int) -> str:
        """The human label of category `index` (its index as text when the config has no labels)."""
        return self.labels[index] if self.labels else str(index)

    def index_of(self, value: Any) -> int:
        """Turn a user value (an index, or one of the labels) into a category index; raise ValueError otherwise."""
        allowed = f"an index 0..{self.size - 1}" + (f" or one of the labels {list(self.labels)}" if self.labels else "")
        if isinstance(value, str):
            if self.labels and value in self.labels:
                return self.labels.index(value)
            raise ValueError(f"code {self.name!r}: unknown category {value!r}; expected {allowed}")
        if isinstance(value, bool) or (not isinstance(value, (int, float)) and not _is_integer_tensor(value)):
            raise ValueError(f"code {self.name!r}: expected {allowed}, got {type(value).__name__} {value!r}")
        number = _to_float(value)
        if not math.isfinite(number) or number != int(number) or not 0 <= number < self.size:
            raise ValueError(f"code {self.name!r}: category {value!r} is out of range; expected {allowed}")
        return int(number)


@dataclass(frozen=True)
class ContinuousCode:
    """A real-valued code with a Uniform(low, high) prior (the paper uses Uniform(-1, 1) for MNIST)."""

    name: str
    low: float = -1.0
    high: float = 1.0
    kind: Literal["continuous"] = "continuous"

    # Values this far outside the prior are refused: a traversal to +-2 or +-3 is informative, +-1e6 is a typo.
    max_abs_value = 10.0

    @property
    def width(self) -> int:
        return 1

    @property
    def q_outputs(self) -> int:
        """Q predicts a mean and a log standard deviation (a factored Gaussian, paper Sec. 5)."""
        return 2

    def validate(self) -> None:
        _check_name(self.name)
        for bound in (self.low, self.high):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise ValueError(f"continuous code {self.name!r}: prior bounds must be finite numbers")
        if not self.low < self.high or max(abs(self.low), abs(self.high)) > self.max_abs_value:
            raise ValueError(
                f"continuous code {self.name!r}: need low < high within ±{self.max_abs_value}, "
                f"got [{self.low}, {self.high}]"
            )

    def check_value(self, value: Any) -> float:
        """Turn a user value into a float; raise ValueError for non-numbers, NaN/inf and absurd magnitudes."""
        if isinstance(value, bool) or (not isinstance(value, (int, float)) and not torch.is_tensor(value)):
            raise ValueError(f"code {self.name!r}: expected a number, got {type(value).__name__} {value!r}")
        number = _to_float(value)
        if not math.isfinite(number) or abs(number) > self.max_abs_value:
            raise ValueError(
                f"code {self.name!r}: value {value!r} is not allowed; expected a finite number within "
                f"±{self.max_abs_value} (the prior is [{self.low}, {self.high}], traversals usually use ±2)"
            )
        return number


LatentCode = CategoricalCode | ContinuousCode


@dataclass(frozen=True)
class LatentSpec:
    """Noise size plus the ordered list of named codes. The generator input is [z, one-hots..., continuous...]."""

    noise_dim: int = 62
    codes: tuple[LatentCode, ...] = field(default_factory=tuple)

    def validate(self) -> None:
        if isinstance(self.noise_dim, bool) or not isinstance(self.noise_dim, int) or not 0 <= self.noise_dim <= 4096:
            raise ValueError(f"latent.noise_dim must be an integer in [0, 4096], got {self.noise_dim!r}")
        if not self.codes:
            raise ValueError("latent.codes is empty: an InfoGAN needs at least one categorical or continuous code")
        names = [code.name for code in self.codes]
        if len(set(names)) != len(names):
            raise ValueError(f"latent code names must be unique, got {names}")
        for code in self.codes:
            code.validate()

    # ---- layout -------------------------------------------------------------------------------------------------

    @property
    def input_dim(self) -> int:
        """Generator input size: noise plus every code's width."""
        return self.noise_dim + sum(code.width for code in self.codes)

    @property
    def q_dim(self) -> int:
        """Q-head output size."""
        return sum(code.q_outputs for code in self.codes)

    @property
    def categorical(self) -> list[CategoricalCode]:
        return [c for c in self.codes if isinstance(c, CategoricalCode)]

    @property
    def continuous(self) -> list[ContinuousCode]:
        return [c for c in self.codes if isinstance(c, ContinuousCode)]

    def code(self, name: str) -> LatentCode:
        """The code called `name`; ValueError listing the known names otherwise."""
        for code in self.codes:
            if code.name == name:
                return code
        raise ValueError(f"unknown code {name!r}; this model's codes are {[c.name for c in self.codes]}")

    # ---- sampling and encoding ----------------------------------------------------------------------------------

    def sample(self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> dict:
        """Draw z and every code from its prior.

        Returns {"z": (n, noise_dim), name: (n,) long for categorical or (n,) float for continuous}, on `device`.
        Draws always happen in the same order, so fixing one code never changes the random values of the others.
        They are made where `generator` lives (the CPU without one), then moved: a training step passes a generator
        on its own device and never waits for a copy.
        """
        where = generator.device if generator is not None else torch.device("cpu")
        values: dict[str, torch.Tensor] = {"z": torch.randn(n, self.noise_dim, generator=generator, device=where)}
        for code in self.codes:
            if isinstance(code, CategoricalCode):
                values[code.name] = torch.randint(code.size, (n,), generator=generator, device=where)
            else:
                values[code.name] = torch.rand(n, generator=generator, device=where) * (code.high - code.low) + code.low
        return {k: v.to(device) for k, v in values.items()}

    def to_generator_input(self, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate z, one-hot categorical codes and continuous codes into G's input vector."""
        parts = [values["z"]]
        for code in self.codes:
            v = values[code.name]
            if isinstance(code, CategoricalCode):
                parts.append(torch.nn.functional.one_hot(v, code.size).to(values["z"].dtype))
            else:
                parts.append(v.to(values["z"].dtype).unsqueeze(1))
        return torch.cat(parts, dim=1)  # (B, input_dim)

    def split_q_output(self, q: torch.Tensor) -> dict[str, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        """Split the Q head's flat output into per-code logits (B, K) or (mean, log_std) pairs of (B,)."""
        out: dict[str, Any] = {}
        start = 0
        for code in self.codes:
            chunk = q[:, start : start + code.q_outputs]
            start += code.q_outputs
            out[code.name] = chunk if isinstance(code, CategoricalCode) else (chunk[:, 0], chunk[:, 1])
        return out

    def resolve_values(self, n: int, codes: Mapping[str, Any] | None) -> dict[str, torch.Tensor]:
        """Validate user-given code values (scalars, or sequences of length n) into tensors keyed by name."""
        if codes is None:
            return {}
        if not isinstance(codes, Mapping):
            raise ValueError(f"codes must be a mapping of code name to value, got {type(codes).__name__}")
        resolved: dict[str, torch.Tensor] = {}
        for name, value in codes.items():
            code = self.code(name)
            items = _as_items(value, n, name)
            if isinstance(code, CategoricalCode):
                resolved[name] = torch.tensor([code.index_of(v) for v in items], dtype=torch.long)
            else:
                resolved[name] = torch.tensor([code.check_value(v) for v in items], dtype=torch.float32)
        return resolved

    # ---- JSON ---------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        codes = []
        for code in self.codes:
            if isinstance(code, CategoricalCode):
                entry: dict[str, Any] = {"name": code.name, "kind": code.kind, "size": code.size}
                if code.labels is not None:
                    entry["labels"] = list(code.labels)
            else:
                entry = {"name": code.name, "kind": code.kind, "low": code.low, "high": code.high}
            codes.append(entry)
        return {"noise_dim": self.noise_dim, "codes": codes}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatentSpec:
        """Strictly rebuild a spec from JSON: unknown keys and kinds are errors, not silently dropped."""
        _check_keys(data, required={"noise_dim", "codes"}, optional=set(), where="latent")
        if not isinstance(data["codes"], list):
            raise ValueError("latent.codes must be a list of code objects")
        codes: list[LatentCode] = []
        for i, entry in enumerate(data["codes"]):
            where = f"latent.codes[{i}]"
            if not isinstance(entry, Mapping) or entry.get("kind") not in ("categorical", "continuous"):
                raise ValueError(f"{where}: each code needs kind 'categorical' or 'continuous', got {entry!r}")
            if entry["kind"] == "categorical":
                _check_keys(entry, required={"name", "kind", "size"}, optional={"labels"}, where=where)
                labels = entry.get("labels")
                if labels is not None and not isinstance(labels, list):
                    raise ValueError(f"{where}: labels must be a list of strings")
                codes.append(
                    CategoricalCode(entry["name"], entry["size"], tuple(labels) if labels is not None else None)
                )
            else:
                _check_keys(entry, required={"name", "kind"}, optional={"low", "high"}, where=where)
                codes.append(ContinuousCode(entry["name"], entry.get("low", -1.0), entry.get("high", 1.0)))
        spec = cls(noise_dim=data["noise_dim"], codes=tuple(codes))
        spec.validate()
        return spec


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not CODE_NAME.match(name) or name == "z":
        raise ValueError(
            f"code name {name!r} is not allowed: use 1-40 letters, digits, '_' or '-', starting with a letter "
            "(and not 'z', which is the noise)"
        )


def _check_keys(data: Mapping[str, Any], required: set[str], optional: set[str], where: str) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(data).__name__}")
    missing = required - data.keys()
    unknown = data.keys() - required - optional
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(required | optional)}")


def _to_float(value: Any) -> float:
    """float(value), with integers too large for a float (e.g. 10**400) becoming inf, so range checks reject them."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _is_integer_tensor(value: Any) -> bool:
    return torch.is_tensor(value) and value.numel() == 1 and not value.is_floating_point()


def _as_items(value: Any, n: int, name: str) -> list[Any]:
    """A scalar applies to all n samples; a sequence/tensor/array must hold exactly n values (one per sample)."""
    if torch.is_tensor(value) or type(value).__module__ == "numpy":
        value = value.tolist()  # Python numbers (or lists of them): numpy/torch ints must count as indices too
    if isinstance(value, (str, int, float)) or value is None:
        return [value] * n
    if isinstance(value, Sequence):
        if len(value) != n:
            raise ValueError(f"code {name!r}: got {len(value)} values for {n} samples; give one value or exactly {n}")
        return [v.item() if type(v).__module__ == "numpy" and getattr(v, "ndim", 1) == 0 else v for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return [value.item()] * n
    raise ValueError(f"code {name!r}: expected a number, a label or a list of them, got {type(value).__name__}")
