"""2-D toy experiments of the WGAN-GP paper: the toy sets, training, mode statistics, Figure 1.

The toy sets ("8gaussians", "25gaussians", "swissroll", as the paper's reference code
defines them: :func:`sample_toy`, :func:`toy_dataset`, :func:`toy_centers`) live here,
beside their only use: this module trains the paper's toy MLPs on them with the
library's ``WGAN`` / ``WGANGP``, scores the samples, and draws the critic's value
surface the way Figure 1 of Gulrajani et al. (2017) does.

Reference settings (``gan_toy.py`` of the paper's code): generator and critic are
3 ReLU layers of 512 units, batch 256, 5 critic updates per generator update,
penalty weight ``LAMBDA = 0.1`` (smaller than the image runs' 10, "faster for toy
tasks"), Adam(1e-4, 0.5, 0.9) for WGAN-GP and RMSprop(5e-5) with clipping at 0.01 for
WGAN (the models' ``paper_optimizers()``), 100,000 generator iterations. Everything
but the iteration count (and, in the demo, the width) is kept here; the budget is a
flag because 100,000 iterations take hours on a CPU.

Why the figures: the Gaussian-mixture sets make mode dropping and off-mode samples
countable (:func:`mode_statistics`); the swiss roll has no modes, so it gets a
nearest-neighbour distance in both directions (samples -> data: are samples on the
roll? data -> samples: is all of the roll covered?).
"""

import math
import time
from typing import NamedTuple

import keras
import numpy as np

from keras_wgan import checks, presets
from keras_wgan.models import WGAN, WGANGP

MODELS = ("wgan", "wgan-gp")
MODEL_LABELS = {"wgan": "WGAN (clipping)", "wgan-gp": "WGAN-GP"}
MIXTURE_SETS = ("8gaussians", "25gaussians")

# The reference code's toy settings (gan_toy.py): the "toy" preset's, and its budget.
TOY_PRESET = "toy"
REFERENCE_GP_WEIGHT = presets.get_preset(TOY_PRESET, WGANGP)["gp_weight"]
REFERENCE_STEPS = 100_000
REFERENCE_WIDTH = presets.get_preset(TOY_PRESET)["width"]

# Mode statistics: a sample is "high quality" within this many noise stds of a centre
# (radial distance; for an isotropic 2-D Gaussian 1 - exp(-9/2) = 98.9% of real points
# are), and a mode is covered when it holds at least this fraction of its fair share.
HQ_STDS = 3.0
MODE_MIN_SHARE = 0.2

# Demo budget: about 5 minutes for all six runs on 2 CPU cores (see run_demo).
DEMO_STEPS = 2000
DEMO_WIDTH = 128
DEMO_LEARNING_RATE = 1e-3
DEMO_EMA_DECAY = 0.999


def _as_points(samples, arg="samples"):
    points = np.asarray(samples, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < 1:
        raise ValueError(
            f"`{arg}` must be an array of 2-D points, shape (n, 2) with n >= 1; got shape "
            f"{points.shape}."
        )
    if not np.all(np.isfinite(points)):
        raise ValueError(f"`{arg}` contains NaN or infinite values (did training diverge?).")
    return points


# ------------------------------------------------------------------ the toy sets
#: name -> (unscaled noise std, divisor). Points are centre + N(0, std^2) per
#: coordinate, then everything divided by the divisor.
_TOY_SPECS = {
    "8gaussians": (0.02, 1.414),
    "25gaussians": (0.05, 2.828),
    "swissroll": (0.25, 7.5),
}
TOY_DATASETS = tuple(_TOY_SPECS)


def _check_set(name, arg="name"):
    return checks.check_choice(arg, name, TOY_DATASETS)


def _check_model(model, arg="model"):
    return checks.check_choice(arg, model, MODELS)


def _raw_centers(name):
    if name == "8gaussians":
        angles = np.arange(8) * (np.pi / 4.0)
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "25gaussians":
        grid = np.arange(-2, 3) * 2.0
        return np.array([(i, j) for i in grid for j in grid], dtype=np.float64)
    raise ValueError(
        f"toy dataset {name!r} has no discrete centres (only 8gaussians and "
        "25gaussians do)"
    )


def toy_centers(name):
    """The modes of a toy set, to count the ones a generator captures.

    8gaussians: 8 points at radius 2/1.414, angles k*45 deg, std 0.02/1.414.
    25gaussians: (2i, 2j)/2.828 for i, j in -2..2, std 0.05/2.828.

    Args:
        name: ``"8gaussians"`` or ``"25gaussians"``.

    Returns:
        ``(centres, std)``: the ``(K, 2)`` mode centres and the per-coordinate noise
        std, both scaled as the points are.

    Raises:
        ValueError: ``"swissroll"`` (no discrete centres) or an unknown name.
    """
    _check_set(name)
    std, div = _TOY_SPECS[name]
    return _raw_centers(name) / div, std / div


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    seed = checks.check_non_negative_int(
        "seed", seed, allow_none=True, hint="A numpy Generator is accepted too."
    )
    return np.random.default_rng(seed)


def _sample_toy(name, n, rng):
    std, div = _TOY_SPECS[name]
    if name == "swissroll":
        # sklearn.datasets.make_swiss_roll: t = 1.5 pi (1 + 2u); (x, y, z) =
        # (t cos t, 21 v, t sin t) + noise. Only (x, z) is kept, so y and its
        # noise are not drawn: the kept coordinates' distribution is the same.
        t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
        pts = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
        pts += rng.normal(0.0, std, size=(n, 2))
    else:
        centers = _raw_centers(name)
        # Centres drawn i.i.d. uniformly (the reference code picks one at
        # random per point for 8gaussians and cycles a shuffled balanced set
        # for 25gaussians; both are uniform over modes).
        pts = centers[rng.integers(0, len(centers), size=n)]
        pts = pts + rng.normal(0.0, std, size=(n, 2))
    return (pts / div).astype(np.float32)


def sample_toy(name, n, seed=None):
    """Points of a 2-D toy set, as the WGAN-GP paper's toy experiments draw them.

    Args:
        name: ``"8gaussians"``, ``"25gaussians"`` or ``"swissroll"``.
        n: how many points.
        seed: an int, a NumPy ``Generator`` or None; the same int gives the same points.

    Returns:
        float32 ``(n, 2)``.

    Raises:
        ValueError: an unknown name (the message lists them).
    """
    _check_set(name)
    n = checks.check_positive_int("n", n)
    return _sample_toy(name, n, _rng(seed))


def toy_dataset(name, batch_size=256, seed=None):
    """An endless ``tf.data.Dataset`` of toy batches, for ``fit``.

    Each iteration restarts the numpy stream from ``seed``, so with an int
    seed the first batch equals ``sample_toy(name, batch_size, seed)``.

    Args:
        name: as :func:`sample_toy`'s.
        batch_size: points per batch.
        seed: an int or None.

    Returns:
        A dataset of float32 ``(batch_size, 2)`` batches.

    Example:

    ```python
    gan = WGANGP.from_preset("toy")
    gan.fit(toy_dataset("8gaussians", 256, seed=0), epochs=1, steps_per_epoch=1000)
    ```
    """
    import tensorflow as tf  # tf.data feeds every Keras backend; imported when used

    _check_set(name)
    batch_size = checks.check_positive_int("batch_size", batch_size)
    seed = checks.check_non_negative_int("seed", seed, allow_none=True)

    def gen():
        rng = np.random.default_rng(seed)
        while True:
            yield _sample_toy(name, batch_size, rng)

    ds = tf.data.Dataset.from_generator(
        gen, output_signature=tf.TensorSpec((batch_size, 2), tf.float32)
    )
    return ds.prefetch(tf.data.AUTOTUNE)


# ------------------------------------------------------------------ statistics
def _nearest_distances(queries, reference):
    from scipy.spatial import cKDTree

    return cKDTree(reference).query(queries, k=1)[0]


def mode_statistics(samples, name, reference_size=5000, seed=0):
    """Score 2-D samples against toy set ``name``; a dict of plain Python numbers.

    Gaussian mixtures ("8gaussians", "25gaussians"), the paper's mode-collapse view:

    - ``high_quality``: fraction of samples within 3 noise stds (radial distance, std
      after the set's scaling, from ``toy_centers``) of their nearest centre.
      Real data scores about 0.989.
    - ``modes_covered`` / ``num_modes``: a mode counts when its high-quality samples
      are at least 20% of its fair share ``n / num_modes``.

    "swissroll" (no modes), a nearest-neighbour distance in data units:

    - ``gen_to_real``: mean distance from each sample to the nearest of
      ``reference_size`` real points (are the samples on the roll?);
    - ``real_to_gen``: mean distance from each real point to the nearest sample (is the
      whole roll covered?);
    - ``real_baseline``: the mean of the same two figures for an independent real sample
      of the same size, i.e. what a perfect generator scores (both figures shrink with
      more points, so compare at equal sizes).

    ``reference_size`` and ``seed`` only matter for "swissroll".
    """
    _check_set(name)
    points = _as_points(samples)
    if name in MIXTURE_SETS:
        centers, std = toy_centers(name)
        distances = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=-1)
        nearest = np.argmin(distances, axis=1)
        good = distances[np.arange(len(points)), nearest] <= HQ_STDS * std
        counts = np.bincount(nearest[good], minlength=len(centers))
        fair_share = len(points) / len(centers)
        return {
            "modes_covered": int(np.sum(counts >= MODE_MIN_SHARE * fair_share)),
            "num_modes": int(len(centers)),
            "high_quality": float(np.mean(good)),
        }
    reference_size = checks.check_positive_int("reference_size", reference_size)
    rng = np.random.default_rng(seed)
    reference = sample_toy(name, reference_size, rng).astype(np.float64)
    other = sample_toy(name, len(points), rng).astype(np.float64)
    baseline = 0.5 * (
        np.mean(_nearest_distances(other, reference))
        + np.mean(_nearest_distances(reference, other))
    )
    return {
        "gen_to_real": float(np.mean(_nearest_distances(points, reference))),
        "real_to_gen": float(np.mean(_nearest_distances(reference, points))),
        "real_baseline": float(baseline),
    }


def format_statistics(stats):
    """One short line for titles and logs, whichever kind of statistics ``stats`` is."""
    if "modes_covered" in stats:
        return (
            f"{stats['modes_covered']}/{stats['num_modes']} modes, "
            f"{100 * stats['high_quality']:.1f}% high-quality"
        )
    return (
        f"NN dist gen->real {stats['gen_to_real']:.3f}, real->gen {stats['real_to_gen']:.3f} "
        f"(real {stats['real_baseline']:.3f})"
    )


# ------------------------------------------------------------------- training
def build_toy_gan(
    model="wgan-gp",
    width=REFERENCE_WIDTH,
    depth=3,
    latent_dim=2,
    n_critic=5,
    seed=0,
    ema_decay=None,
    gp_weight=REFERENCE_GP_WEIGHT,
    clip_value=0.01,
):
    """The reference code's toy GAN: MLP generator and critic in a WGAN or WGANGP (uncompiled).

    The "toy" preset (``keras_wgan.presets``) with these settings. ``seed`` (an int) also
    seeds Keras' global RNGs (Python, numpy, TensorFlow) before the nets are built, so
    the initial weights and hence whole runs are reproducible.
    """
    _check_model(model)
    width = checks.check_positive_int("width", width)
    depth = checks.check_positive_int("depth", depth)
    latent_dim = checks.check_positive_int("latent_dim", latent_dim)
    seed = checks.check_non_negative_int("seed", seed, allow_none=True)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    cls, constraint = (WGAN, {"clip_value": clip_value}) if model == "wgan" else \
        (WGANGP, {"gp_weight": gp_weight})
    return cls.from_preset(
        TOY_PRESET, compile=False, width=width, depth=depth, latent_dim=latent_dim,
        n_critic=n_critic, ema_decay=ema_decay, seed=seed, **constraint,
    )


def _steps_per_execution(steps, n_critic):
    """Run several train steps per call (halves the CPU time of these tiny nets).

    A whole number of n_critic blocks that divides the epoch, so no step is left over.
    """
    return n_critic * math.gcd(steps, 20)


def train_toy(
    name,
    model="wgan-gp",
    steps=2000,
    batch_size=256,
    width=REFERENCE_WIDTH,
    depth=3,
    latent_dim=2,
    n_critic=5,
    seed=0,
    ema_decay=None,
    gp_weight=REFERENCE_GP_WEIGHT,
    learning_rate=None,
    verbose="auto",
):
    """Train the paper's toy GAN on toy set ``name`` and return the fitted model.

    ``steps`` is the number of generator updates (the reference runs 100,000; the
    default 2,000 is a CPU budget); the critic gets ``n_critic * steps`` updates, each
    on a fresh real batch from ``toy_dataset``. One ``fit`` epoch of
    ``n_critic * steps`` steps; ``verbose`` goes to ``fit`` (1: Keras' progress bar).
    Optimizers are the "toy" preset's, the models' ``paper_optimizers()``, i.e. the
    reference's; a ``learning_rate`` replaces only their rate (both nets), for short CPU
    budgets.
    """
    _check_set(name)
    _check_model(model)
    steps = checks.check_positive_int("steps", steps)
    batch_size = checks.check_positive_int("batch_size", batch_size)
    n_critic = checks.check_positive_int("n_critic", n_critic)
    if learning_rate is not None:
        learning_rate = checks.check_positive_number(
            "learning_rate", learning_rate, hint="None keeps the paper's rates."
        )
    gan = build_toy_gan(
        model,
        width=width,
        depth=depth,
        latent_dim=latent_dim,
        n_critic=n_critic,
        seed=seed,
        ema_decay=ema_decay,
        gp_weight=gp_weight,
    )
    optimizers = presets.make_optimizers(TOY_PRESET, type(gan), learning_rate=learning_rate)
    gan.compile(steps_per_execution=_steps_per_execution(steps, n_critic), **optimizers)
    dataset = toy_dataset(name, batch_size=batch_size, seed=seed)
    gan.fit(dataset, epochs=1, steps_per_epoch=n_critic * steps, shuffle=False, verbose=verbose)
    return gan


class ToyResult(NamedTuple):
    """One trained toy run with its samples and figures (what the panel and tables show)."""

    name: str
    model: str
    gan: object
    samples: np.ndarray
    stats: dict
    seconds: float
    steps: int


def evaluate_toy(gan, name, model, n=5000, seed=0, seconds=float("nan"), steps=0):
    """Draw ``n`` samples from ``gan`` (fixed noise ``seed``) and score them."""
    _check_set(name)
    _check_model(model)
    samples = gan.generate(checks.check_positive_int("n", n), seed=seed)
    return ToyResult(name, model, gan, samples, mode_statistics(samples, name), seconds, steps)


def run_toy_suite(
    sets=TOY_DATASETS,
    models=MODELS,
    steps=2000,
    width=REFERENCE_WIDTH,
    n_samples=5000,
    seed=0,
    verbose=1,
    **train_kwargs,
):
    """Train and evaluate every (set, model) pair; a list of :class:`ToyResult`.

    ``verbose``: 0 silent; 1 one compact line per run (set, model, time, figures);
    2 also Keras' progress bar for each run. Other kwargs go to :func:`train_toy`.
    """
    sets = _check_sequence("sets", sets, _check_set)
    models = _check_sequence("models", models, _check_model)
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1 or 2, got {verbose!r}.")
    total = len(sets) * len(models)
    results = []
    for name in sets:
        for model in models:
            index = len(results) + 1
            if verbose:
                print(f"[{index}/{total}] {name:<11} {model:<7} ", end="", flush=True)
                if verbose == 2:
                    print(flush=True)
            start = time.perf_counter()
            gan = train_toy(
                name,
                model,
                steps=steps,
                width=width,
                seed=seed,
                verbose=1 if verbose == 2 else 0,
                **train_kwargs,
            )
            seconds = time.perf_counter() - start
            result = evaluate_toy(gan, name, model, n_samples, seed, seconds, steps)
            results.append(result)
            if verbose:
                print(f"{steps} G steps in {seconds:5.1f} s | {format_statistics(result.stats)}",
                      flush=True)
    return results


def _check_sequence(arg, values, check):
    if isinstance(values, str):
        values = (values,)
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"`{arg}` must be a sequence of names, got {values!r}.") from None
    if not values:
        raise ValueError(f"`{arg}` must name at least one entry.")
    for value in values:
        check(value, arg)
    if len(set(values)) != len(values):
        raise ValueError(f"`{arg}` contains duplicates: {list(values)}.")
    return values


# ------------------------------------------------------------------- plotting
def _grid_bounds(real, margin=0.25):
    """A square window around the real data: every set's panel shares the data's scale."""
    low, high = real.min(axis=0), real.max(axis=0)
    centre, half = (low + high) / 2, (high - low).max() / 2 * (1 + margin)
    return centre - half, centre + half


def critic_surface(gan, low, high, resolution=128):
    """The critic's scores on a ``resolution`` x ``resolution`` grid: (xs, ys, values)."""
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)  # values[i, j] is at (xs[j], ys[i])
    points = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype("float32")
    scores = keras.ops.convert_to_numpy(gan.critic(points, training=False))
    return xs, ys, scores.reshape(resolution, resolution)


def _as_results(results):
    """Accept ToyResults, or a mapping {(set, model): trained gan} (scored here)."""
    if isinstance(results, dict):
        items = []
        for key, gan in results.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(
                    "`results` as a mapping must have (set, model) keys, e.g. "
                    f"('8gaussians', 'wgan-gp'); got key {key!r}."
                )
            items.append(gan if isinstance(gan, ToyResult) else evaluate_toy(gan, *key))
        results = items
    results = list(results)
    if not results or not all(isinstance(r, ToyResult) for r in results):
        raise ValueError(
            "`results` must be a non-empty list of ToyResult (from run_toy_suite or "
            "evaluate_toy) or a mapping {(set, model): trained gan}."
        )
    return results


def plot_critic_panel(results, path, panel_size=4.0, dpi=100, n_points=1000, seed=0):
    """Write the WGAN-GP paper's Figure 1 style panel as one PNG; returns ``path``.

    One row per model (clipping above, penalty below, as in the paper) and one column
    per toy set. Each cell: the critic's value surface as filled contours over the data
    range, ``n_points`` real (orange) and generated (green) points on top, and the mode
    statistics in the title. Samples come from ``gan.generate`` (the weight average
    when ``ema_decay`` is set); the surface is the live critic. The image is exactly
    ``(columns * panel_size * dpi, rows * panel_size * dpi)`` pixels (no tight bounding
    box). Uses the Agg canvas directly, so no pyplot global state is touched.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    results = _as_results(results)
    n_points = checks.check_positive_int("n_points", n_points)
    sets = list(dict.fromkeys(r.name for r in results))
    models = [m for m in MODELS if any(r.model == m for r in results)]
    by_key = {(r.name, r.model): r for r in results}

    figure = Figure(figsize=(panel_size * len(sets), panel_size * len(models)), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(models), len(sets), squeeze=False)
    for row, model in enumerate(models):
        for col, name in enumerate(sets):
            ax = axes[row][col]
            result = by_key.get((name, model))
            real = sample_toy(name, n_points, seed)
            low, high = _grid_bounds(real)
            ax.set_xlim(low[0], high[0])
            ax.set_ylim(low[1], high[1])
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if result is None:
                ax.set_title(f"{name} - {MODEL_LABELS[model]}\n(not run)", fontsize=9)
                continue
            xs, ys, values = critic_surface(result.gan, low, high)
            ax.contourf(xs, ys, values, levels=20, cmap="Blues")
            ax.contour(xs, ys, values, levels=20, colors="k", linewidths=0.3, alpha=0.4)
            ax.scatter(real[:, 0], real[:, 1], s=4, c="orange", marker="+", linewidths=0.6)
            fake = result.samples[:n_points]
            ax.scatter(fake[:, 0], fake[:, 1], s=4, c="green", marker="+", linewidths=0.6)
            ax.set_title(
                f"{name} - {MODEL_LABELS[model]}\n{format_statistics(result.stats)}",
                fontsize=8,
            )
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.92, wspace=0.08,
                           hspace=0.22)
    figure.savefig(path, dpi=dpi)
    return path


def run_demo(
    out="toy_demo.png",
    steps=DEMO_STEPS,
    sets=TOY_DATASETS,
    models=MODELS,
    width=DEMO_WIDTH,
    seed=0,
    verbose=1,
    learning_rate=DEMO_LEARNING_RATE,
    ema_decay=DEMO_EMA_DECAY,
    **train_kwargs,
):
    """Train every (set, model) pair, print their figures and draw the panel to ``out``.

    The defaults keep all six runs to about 5 minutes on 2 CPU cores: 2,000 generator
    updates of width-128 nets (depth 3, batch 256, n_critic 5, lambda 0.1), the paper's
    optimizers at a 10x rate (1e-3) with a 0.999 generator weight average, which is what
    gets WGAN-GP to all modes in that budget. The reference's budget is ``steps=100_000,
    width=512, learning_rate=None, ema_decay=None``. ``verbose`` as in
    :func:`run_toy_suite` (1: one line per run). Returns ``out``.
    """
    results = run_toy_suite(
        sets,
        models,
        steps=steps,
        width=width,
        seed=seed,
        verbose=verbose,
        learning_rate=learning_rate,
        ema_decay=ema_decay,
        **train_kwargs,
    )
    plot_critic_panel(results, out, seed=seed)
    if verbose:
        print(f"wrote {out}", flush=True)
    return out
