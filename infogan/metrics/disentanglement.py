"""Disentanglement scores against ground-truth factors (dSprites): MIG, the FactorVAE score and DCI disentanglement.

Each score reads a representation — here Q's codes on real images — against the factor classes of those images.
The definitions and default sample sizes follow google-research/disentanglement_lib (evaluation/metrics/mig.py,
factor_vae.py, dci.py and the unsupervised_study_v1 metric configs), with two documented differences:
- Codes are read once for a seeded random pool of real images (`POOL_POINTS`), and every score draws its points from
  that pool. For the FactorVAE score, "fix one factor and sample a batch" becomes "draw a batch from the pool images
  that share the fixed factor's class" (the pool is a uniform draw, so those images are a uniform draw of the images
  with that class). This keeps Q's forward passes to the pool instead of 960k images, which a CPU cannot afford.
- DCI's importance matrix comes from random forests, not gradient boosted trees: scikit-learn's
  GradientBoostingClassifier fits one tree per class per round (113 classes × 100 rounds on dSprites) and took over
  10 minutes here; a forest is one multi-class tree per round. Eastwood & Williams (2018) used lasso and random
  forests themselves. Forest importances are less sharp than boosting's, so DCI here reads somewhat lower.

One code is one dimension of the representation: a categorical code is Q's argmax category, a continuous code Q's
predicted mean (see `read_codes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..latent import CategoricalCode

POOL_POINTS = 30_000  # real images whose codes Q reads; every score samples from these
MIG_POINTS = 10_000  # disentanglement_lib: mig.num_train
MIG_BINS = 20  # disentanglement_lib: histogram_discretizer, 20 bins
FACTOR_VAE_BATCH = 64  # disentanglement_lib: factor_vae_score.batch_size
FACTOR_VAE_TRAIN_VOTES = 10_000
FACTOR_VAE_EVAL_VOTES = 5_000
FACTOR_VAE_VARIANCE_POINTS = 10_000
FACTOR_VAE_PRUNE_STD = 0.05  # dims whose std over the data is below this count as collapsed (prune_dims.threshold)
DCI_TRAIN_POINTS = 10_000
DCI_TEST_POINTS = 5_000


@torch.inference_mode()
def read_codes(model: Any, images: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """(N, n_codes) float64: Q's argmax category for categorical codes, Q's mean for continuous ones.

    `images` are (N, C, H, W) uint8 or floats in [0, 1].
    """
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        batch = batch.float() / 255 if batch.dtype == torch.uint8 else batch
        readings = model.infer_codes(batch)
        columns = [
            readings[c.name].argmax(1).double() if isinstance(c, CategoricalCode) else readings[c.name].double()
            for c in model.codes
        ]
        chunks.append(torch.stack(columns, 1).cpu())  # (B, n_codes)
    return torch.cat(chunks).numpy()


# ---- MIG (Chen et al. 2018) ---------------------------------------------------------------------------------------


def discretize(codes: np.ndarray, bins: int = MIG_BINS) -> np.ndarray:
    """(N, D) int: each column cut into `bins` equal-width bins between its own min and max."""
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, j], bins)
        out[:, j] = np.digitize(codes[:, j], edges[:-1])  # 1..bins
    return out


def discrete_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats between two integer label vectors, from their empirical joint distribution."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    outer = joint.sum(1, keepdims=True) @ joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / outer[nz])).sum())


def mutual_information_matrix(codes: np.ndarray, factors: np.ndarray, bins: int = MIG_BINS) -> np.ndarray:
    """(n_codes, n_factors) mutual information (nats) between each discretised code and each factor."""
    binned = discretize(codes, bins)
    return np.array([[discrete_mutual_information(binned[:, i], factors[:, k]) for k in range(factors.shape[1])]
                     for i in range(codes.shape[1])])  # fmt: skip


def mutual_information_gap(codes: np.ndarray, factors: np.ndarray, bins: int = MIG_BINS) -> dict[str, Any]:
    """MIG: per factor, (largest − second largest MI with a code) / H(factor); the score is the mean over factors."""
    if codes.shape[1] < 2:
        raise ValueError(f"MIG compares the two most informative codes; got {codes.shape[1]} code(s)")
    mi = mutual_information_matrix(codes, factors, bins)
    entropy = np.array([discrete_mutual_information(factors[:, k], factors[:, k]) for k in range(factors.shape[1])])
    top = np.sort(mi, axis=0)[::-1]  # (n_codes, n_factors), largest first
    gaps = (top[0] - top[1]) / entropy
    return {"score": float(gaps.mean()), "per_factor": gaps, "normalised_mi": mi / entropy}


# ---- FactorVAE score (Kim & Mnih 2018) ----------------------------------------------------------------------------


def factor_vae_score(
    codes: np.ndarray,
    factors: np.ndarray,
    seed: int = 0,
    batch_size: int = FACTOR_VAE_BATCH,
    train_votes: int = FACTOR_VAE_TRAIN_VOTES,
    eval_votes: int = FACTOR_VAE_EVAL_VOTES,
    variance_points: int = FACTOR_VAE_VARIANCE_POINTS,
) -> dict[str, Any]:
    """Accuracy of a majority-vote classifier that names the fixed factor from the code of least variance.

    A vote: pick a factor and one of its classes, take `batch_size` points sharing that class, divide each code's
    variance over the batch by its variance over the data, and note which code varies least. The classifier maps each
    code to the factor it was most often the answer for; the score is its accuracy on `eval_votes` fresh votes.
    """
    rng = np.random.default_rng(seed)
    n, n_factors = factors.shape
    global_variance = codes[rng.choice(n, min(n, variance_points), replace=False)].var(0, ddof=1)
    active = np.flatnonzero(np.sqrt(global_variance) >= FACTOR_VAE_PRUNE_STD)
    if len(active) == 0:
        return {"score": 0.0, "train_accuracy": 0.0, "active_codes": 0}
    # Points grouped by class, per factor: members[k][v] are the rows whose factor k has class v.
    members = [{int(v): np.flatnonzero(factors[:, k] == v) for v in np.unique(factors[:, k])} for k in range(n_factors)]

    def votes(count: int) -> np.ndarray:
        table = np.zeros((n_factors, codes.shape[1]), dtype=np.int64)
        for _ in range(count):
            k = int(rng.integers(n_factors))
            rows = members[k][int(factors[rng.integers(n), k])]  # a class drawn with the data's frequencies
            batch = codes[rng.choice(rows, batch_size, replace=len(rows) < batch_size)]
            ratio = batch[:, active].var(0, ddof=1) / global_variance[active]
            table[k, active[np.argmin(ratio)]] += 1
        return table

    train, held_out = votes(train_votes), votes(eval_votes)
    classifier = train.argmax(0)  # code → factor
    columns = np.arange(codes.shape[1])
    return {
        "score": float(held_out[classifier, columns].sum() / held_out.sum()),
        "train_accuracy": float(train[classifier, columns].sum() / train.sum()),
        "active_codes": len(active),
    }


# ---- DCI disentanglement (Eastwood & Williams 2018) ---------------------------------------------------------------


def importance_matrix(
    codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, float]:
    """(n_codes, n_factors) feature importances of a random forest per factor, and its mean held-out accuracy."""
    from sklearn.ensemble import RandomForestClassifier

    matrix = np.zeros((codes_train.shape[1], factors_train.shape[1]))
    accuracies = []
    for k in range(factors_train.shape[1]):
        # Every split may use every code (max_features=None, as boosting's trees do) and depth is limited: trees forced
        # onto a random subset of codes, or grown until pure, split on codes that carry nothing and spread importance.
        forest = RandomForestClassifier(n_estimators=50, max_depth=8, max_features=None, random_state=seed, n_jobs=1)
        forest.fit(codes_train, factors_train[:, k])
        matrix[:, k] = forest.feature_importances_
        accuracies.append(forest.score(codes_test, factors_test[:, k]))
    return matrix, float(np.mean(accuracies))


def dci_disentanglement(importance: np.ndarray) -> dict[str, float]:
    """DCI disentanglement (and completeness) from an (n_codes, n_factors) importance matrix.

    Disentanglement: per code, 1 − entropy (base n_factors) of its normalised importance row, weighted by the code's
    share of all importance. Completeness: the same per factor, over codes.
    """

    def one_minus_entropy(rows: np.ndarray) -> np.ndarray:
        p = rows + 1e-11
        p = p / p.sum(1, keepdims=True)
        return 1 + (p * np.log(p)).sum(1) / np.log(rows.shape[1])

    total = importance.sum()
    weights = importance if total > 0 else np.ones_like(importance)
    weights = weights / weights.sum()
    return {
        "disentanglement": float((one_minus_entropy(importance) * weights.sum(1)).sum()),
        "completeness": float((one_minus_entropy(importance.T) * weights.sum(0)).sum()),
    }


# ---- all three on a model -----------------------------------------------------------------------------------------


def score_codes(codes: np.ndarray, factors: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """MIG, FactorVAE and DCI on one pool of (codes, factors) points, each drawing its points with a fixed seed."""
    n = len(codes)
    rng = np.random.default_rng(seed)
    mig_rows = rng.choice(n, min(n, MIG_POINTS), replace=False)
    mig = mutual_information_gap(codes[mig_rows], factors[mig_rows])
    dci_rows = rng.permutation(n)[: DCI_TRAIN_POINTS + DCI_TEST_POINTS]
    n_train = len(dci_rows) * DCI_TRAIN_POINTS // (DCI_TRAIN_POINTS + DCI_TEST_POINTS)
    train, test = dci_rows[:n_train], dci_rows[n_train:]
    importance, accuracy = importance_matrix(codes[train], factors[train], codes[test], factors[test], seed)
    return {
        "mig": mig,
        "factor_vae": factor_vae_score(codes, factors, seed),
        "dci": {**dci_disentanglement(importance), "informativeness_test": accuracy, "importance": importance},
    }


def disentanglement_metrics(
    model: Any, images: torch.Tensor, factors: torch.Tensor, factor_names: tuple[str, ...],
    points: int = POOL_POINTS, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The three scores of `model` on a seeded pool of `points` real images, as a JSON-ready summary.

    Returns {"summary": scores and sample sizes, "codes": {code: {factor: MI / H(factor)}}} — the second keyed by code
    name so that renaming a code (infogan.annotate) renames its row.
    """
    if factors is None or len(factors) != len(images):
        raise ValueError("disentanglement metrics need one row of ground-truth factor classes per image")
    if points < 2 * FACTOR_VAE_BATCH:
        raise ValueError(f"need at least {2 * FACTOR_VAE_BATCH} points for the disentanglement metrics, got {points}")
    pool = np.sort(np.random.default_rng(seed).choice(len(images), min(points, len(images)), replace=False))
    codes = read_codes(model, images[torch.from_numpy(pool)])
    scores = score_codes(codes, factors[torch.from_numpy(pool)].numpy(), seed)
    mig, fvae, dci = scores["mig"], scores["factor_vae"], scores["dci"]
    summary = {
        "mig": round(mig["score"], 4),
        "factor_vae": round(fvae["score"], 4),
        "dci_disentanglement": round(dci["disentanglement"], 4),
        "dci_completeness": round(dci["completeness"], 4),
        "dci_informativeness_test": round(dci["informativeness_test"], 4),
        "mig_per_factor": {f: round(float(g), 4) for f, g in zip(factor_names, mig["per_factor"], strict=True)},
        "factor_vae_train_accuracy": round(fvae["train_accuracy"], 4),
        "factor_vae_active_codes": fvae["active_codes"],
        "pool_images": len(pool),
        "seed": seed,
    }
    code_table = {
        code.name: {f: round(float(v), 4) for f, v in zip(factor_names, row, strict=True)}
        for code, row in zip(model.codes, mig["normalised_mi"], strict=True)
    }
    return {"summary": summary, "codes": code_table}
