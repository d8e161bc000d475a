"""After training: noise by seed, truncation, spherical walks, image folders, animations.

One image is one seed. The noise of seed ``s`` is drawn by NumPy's own generator seeded
with ``s`` alone (``numpy.random.default_rng(s)``), never from a batch's shared stream, so
an image depends only on its seed and label, whatever batch, range or ``--n`` it came in,
and the noise is bit-identical on every backend and machine (the images then agree to
float tolerance across backends, exactly on one backend and machine).

Truncation (BigGAN's trick): each noise component beyond ``|t|`` is drawn again, from the
seed's own generator, until it falls inside; ``t`` below 1 trades diversity for fidelity.
A draw lands inside with probability about ``0.8 t``, so ``t`` must be at least
:data:`MIN_TRUNCATION`: below it the redrawing takes ever longer, and never ends as t -> 0.

Everything here is NumPy and Pillow: the model only maps noise to images
(``WassersteinGAN.generate``), and the CLI only wires these together.
"""

import os
import re

import numpy as np

from keras_wgan import checks

SEED_FILE = "seed{seed:06d}.png"  # one image of a folder, named by its seed
# NumPy's generators take any non-negative integer; a 32-bit range keeps names short.
MAX_SEED = 2**32 - 1
#: The smallest truncation accepted: at 0.05 a draw lands inside 4% of the time, so a
#: 512-component row takes about 150 passes; the images are then all but the mean image.
MIN_TRUNCATION = 0.05


def parse_seeds(text):
    """The seeds of a ``--seeds`` text, in order, each once.

    Args:
        text: ``"0-9999"``, ``"3,17,42"`` or a mix (``"0-9,42"``).

    Returns:
        A list of ints in ``0..MAX_SEED``.

    Raises:
        ValueError: the text is not such a list; the message gives an example.
    """
    seeds, seen = [], set()
    for part in str(text).replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"seeds must be integers or ranges like 0-9999 joined by "
                             f"commas, e.g. 0-99,1000; got {text!r}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first or last > MAX_SEED:
            raise ValueError(f"seed range {part!r} must go up, within 0..{MAX_SEED}; "
                             "e.g. 0-99")
        for seed in range(first, last + 1):
            if seed not in seen:
                seen.add(seed)
                seeds.append(seed)
    if not seeds:
        raise ValueError(f"no seeds in {text!r}; e.g. 0-99")
    return seeds


def check_truncation(truncation):
    """A checked truncation setting.

    Args:
        truncation: None (off) or a number: the largest ``|component|`` of the noise kept.

    Returns:
        None or the number as a float.

    Raises:
        ValueError: not a number, or below :data:`MIN_TRUNCATION`.
    """
    if truncation is None:
        return None
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float, np.number)) \
            or not np.isfinite(truncation) or truncation <= 0:
        raise ValueError(f"`truncation` must be a positive number (e.g. 0.7) or None for "
                         f"no truncation, got {truncation!r}.")
    if truncation < MIN_TRUNCATION:
        raise ValueError(
            f"`truncation` must be at least MIN_TRUNCATION={MIN_TRUNCATION} (a component is "
            f"drawn again until it falls within it, which takes about 1/(0.8 t) draws and "
            f"never ends as t -> 0), got {truncation!r}; e.g. 0.5 or 0.7.")
    return float(truncation)


def seed_noise(seeds, latent_dim, truncation=None):
    """The noise of each seed, so that a seed's image does not depend on its batch.

    Args:
        seeds: ints in ``0..MAX_SEED``.
        latent_dim: the noise size.
        truncation: None, or the bound beyond which components are drawn again.

    Returns:
        float32 ``(len(seeds), latent_dim)``, each row standard normal from NumPy's
        generator seeded with its seed alone.

    Raises:
        ValueError: a seed outside ``0..MAX_SEED`` or a bad ``truncation``.
    """
    latent_dim = checks.check_positive_int("latent_dim", latent_dim)
    truncation = check_truncation(truncation)
    rows = np.empty((len(seeds), latent_dim), np.float32)
    for i, seed in enumerate(seeds):
        seed = int(seed)
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seeds must be in 0..{MAX_SEED}, got {seed}.")
        rng = np.random.default_rng(seed)
        row = rng.standard_normal(latent_dim)
        rows[i] = row if truncation is None else truncate(row, truncation, rng)
    return rows


def truncate(noise, truncation, rng):
    """BigGAN's truncation trick: components beyond the bound drawn again until inside.

    Args:
        noise: a standard normal array.
        truncation: the bound, at least :data:`MIN_TRUNCATION`.
        rng: a NumPy ``Generator`` to draw from.

    Returns:
        A copy of ``noise``, a standard normal cut at ``truncation``.

    Raises:
        ValueError: ``truncation`` below :data:`MIN_TRUNCATION`.
    """
    truncation = check_truncation(truncation)
    if truncation is None:
        raise ValueError("`truncation` must be a number of at least "
                         f"{MIN_TRUNCATION} here, got None; e.g. 0.7.")
    noise = np.array(noise, np.float32)
    outside = np.abs(noise) > truncation
    while outside.any():  # each pass keeps P(|z| <= t) of what is left
        noise[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(noise) > truncation
    return noise


#: Below this sine of the angle between two points, they count as opposite: the plane
#: of the usual great circle is then lost in round-off, and slerp picks one (see slerp).
OPPOSITE_SINE = 1e-6


def _orthogonal_direction(a, b):
    """A unit vector orthogonal to ``a`` and ``b`` (about opposite): the coordinate axis
    ``a`` leans on least, with its parts along ``a`` and ``b`` taken away. Deterministic,
    so a walk is the same walk every time."""
    axis = np.zeros_like(a)
    axis[int(np.argmin(np.abs(a)))] = 1.0
    for v in (a, b):
        norm = np.linalg.norm(v)
        if norm > 0:
            axis -= np.dot(axis, v / norm) * (v / norm)
    return axis / np.linalg.norm(axis)


def slerp(a, b, fractions):
    """Spherical interpolation from ``a`` to ``b`` at each fraction in [0, 1]: the path a
    Gaussian vector's norm stays typical on (a straight line would pass near zero).

    Between opposite points (an angle of pi, within :data:`OPPOSITE_SINE`) every great
    circle is a shortest path, and the usual formula divides by a sine of ~1e-16. The
    path then goes through a fixed direction orthogonal to both (at fraction 0.5 it is
    there, at the mean of the two norms): two quarter turns, each well conditioned. In
    one dimension there is no such direction and the path is the straight line.

    Args:
        a: the start, a vector.
        b: the end, a vector of the same size.
        fractions: numbers in [0, 1].

    Returns:
        One row per fraction.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    fractions = np.asarray(fractions, np.float64)
    cosine = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if angle < 1e-6 or a.size == 1:  # the same direction, or no room for a circle
        return ((1 - fractions[:, None]) * a + fractions[:, None] * b).astype(np.float32)
    if angle > np.pi / 2 and np.sin(angle) < OPPOSITE_SINE:
        middle = _orthogonal_direction(a, b) * (np.linalg.norm(a) + np.linalg.norm(b)) / 2
        first = fractions <= 0.5
        path = np.empty((fractions.size, a.size), np.float32)
        path[first] = slerp(a, middle, 2 * fractions[first])
        path[~first] = slerp(middle, b, 2 * fractions[~first] - 1)
        return path
    sin = np.sin(angle)
    fractions = fractions[:, None]
    return ((np.sin((1 - fractions) * angle) / sin) * a
            + (np.sin(fractions * angle) / sin) * b).astype(np.float32)


def walk(points, steps):
    """A closed spherical walk through points: it loops back to the first.

    Args:
        points: at least 2 rows (noise vectors).
        steps: frames from each point to the next.

    Returns:
        ``len(points) * steps`` rows, from each point towards the next, the last
        towards the first.

    Raises:
        ValueError: fewer than 2 points, or ``steps`` not a positive int.
    """
    steps = checks.check_positive_int("steps", steps)
    points = np.asarray(points, np.float32)
    if len(points) < 2:
        raise ValueError(f"a walk needs at least 2 points, got {len(points)}.")
    fractions = np.arange(steps) / steps
    return np.concatenate([slerp(points[i], points[(i + 1) % len(points)], fractions)
                           for i in range(len(points))])


# Every PNG ends with its IEND chunk (length 0, type, CRC): a file that does not was cut off.
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _whole_png(path):
    try:
        with open(path, "rb") as f:
            f.seek(-len(PNG_END), os.SEEK_END)
            return f.read() == PNG_END
    except OSError:  # shorter than the chunk, or gone
        return False


def missing_seeds(folder, seeds):
    """The seeds whose PNG is not whole in a folder yet: what a second run still writes.

    Args:
        folder: the folder of ``seedNNNNNN.png`` files.
        seeds: the seeds asked for.

    Returns:
        Those of ``seeds`` whose file is absent or cut off (no PNG end chunk: a kill or
        a power cut), in order.
    """
    if not os.path.isdir(folder):
        return list(seeds)
    present = {entry.name for entry in os.scandir(folder)
               if entry.is_file() and _whole_png(entry.path)}
    return [seed for seed in seeds if SEED_FILE.format(seed=seed) not in present]


def write_seed_images(folder, seeds, images):
    """``images`` (in [-1, 1]) as ``folder/seedNNNNNN.png``, written in place: a kill
    mid-file leaves a PNG without its end chunk, which :func:`missing_seeds` counts as
    missing, so no rename or fsync per image is needed (a temporary file and a rename
    cost 5x a plain write per file here).

    Args:
        folder: where to write (made when missing).
        seeds: one seed per image, for the file names.
        images: ``(N, H, W, C)`` in [-1, 1].

    Returns:
        How many files were written.
    """
    import io

    from PIL import Image

    from keras_wgan.images import to_uint8

    os.makedirs(folder, exist_ok=True)
    pixels = to_uint8(np.asarray(images))
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    for seed, image in zip(seeds, pixels):
        encoded = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image)).save(encoded, format="PNG")
        with open(os.path.join(folder, SEED_FILE.format(seed=seed)), "wb") as f:
            f.write(encoded.getvalue())
    return len(pixels)


def save_animation(frames, path, seconds_per_frame=0.08, loop=True):
    """Frames as an animated GIF or WebP, by the path's suffix.

    Args:
        frames: uint8 ``(n, h, w)``, ``(n, h, w, 1)`` or ``(n, h, w, 3)``
            (``images.to_uint8`` maps [-1, 1] images there).
        path: a ``.gif`` or ``.webp`` file (its folder is made when missing).
        seconds_per_frame: how long each frame shows.
        loop: whether the animation loops.

    Returns:
        ``path``.

    Raises:
        ValueError: another suffix, or no frames.
    """
    from PIL import Image

    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in (".gif", ".webp"):
        raise ValueError(f"an animation is written as .gif or .webp, got {path!r}; "
                         "e.g. walk.gif")
    frames = np.asarray(frames)
    if frames.ndim == 4 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if len(frames) == 0:
        raise ValueError("no frames to animate.")
    pictures = [Image.fromarray(frame) for frame in frames.astype(np.uint8)]
    folder = os.path.dirname(os.path.abspath(str(path)))
    os.makedirs(folder, exist_ok=True)
    options = {"save_all": True, "append_images": pictures[1:],
               "duration": max(1, int(round(1000 * seconds_per_frame)))}
    if loop:
        options["loop"] = 0
    if suffix == ".webp":
        options["lossless"] = True
    pictures[0].save(str(path), **options)
    return str(path)


def label_frame(frame, text):
    """A frame with text written in its top-left corner, on a dark band.

    Args:
        frame: uint8 ``(h, w)`` or ``(h, w, 3)``.
        text: the text, e.g. ``"epoch 7"``.

    Returns:
        A new uint8 array of the frame's shape.
    """
    from PIL import Image, ImageDraw

    picture = Image.fromarray(np.asarray(frame, np.uint8))
    draw = ImageDraw.Draw(picture)
    box = draw.textbbox((2, 1), text)
    draw.rectangle((0, 0, box[2] + 2, box[3] + 1), fill=0)
    draw.text((2, 1), text, fill=255 if picture.mode == "L" else (255, 255, 255))
    return np.asarray(picture)


def walk_images(gan, seeds, steps, label=None, truncation=None, batch_size=256):
    """The frames of a closed spherical walk through the seeds' noise: ``steps`` images
    from each seed to the next, back to the first (``len(seeds) * steps`` images in
    [-1, 1]).

    Args:
        gan: a keras_wgan model.
        seeds: at least 2 seeds; their noise is :func:`seed_noise`'s.
        steps: frames from each seed to the next.
        label: the class a conditional ``gan`` walks at (None: class 0).
        truncation: None, or the truncation of the seeds' noise.
        batch_size: images generated at once.

    Returns:
        ``(len(seeds) * steps, H, W, C)`` images in [-1, 1].

    Example:

    ```python
    frames = walk_images(gan, [3, 17, 42], steps=30)
    save_animation(to_uint8(frames), "walk.gif")
    ```
    """
    noise = walk(seed_noise(seeds, gan.latent_dim, truncation), steps)
    labels = None
    if getattr(gan, "conditional", False):
        labels = [0 if label is None else int(label)] * len(noise)
    return gan.generate_from_noise(noise, batch_size=batch_size, labels=labels)


def class_walk_images(gan, seed, labels, steps, truncation=None, batch_size=256):
    """The frames of a closed walk between classes at one seed's noise: ``steps`` images
    from each class of ``labels`` to the next (their embeddings mixed linearly), the last
    back to the first.

    Args:
        gan: a conditional keras_wgan model.
        seed: the seed of the one noise vector.
        labels: at least 2 class indices.
        steps: frames from each class to the next.
        truncation: None, or the truncation of the seed's noise.
        batch_size: images generated at once.

    Returns:
        ``(len(labels) * steps, H, W, C)`` images in [-1, 1].

    Raises:
        ValueError: fewer than 2 labels, or a model without classes.
    """
    steps = checks.check_positive_int("steps", steps)
    labels = [int(k) for k in labels]
    if len(labels) < 2:
        raise ValueError(f"a walk between classes needs at least 2 labels, got {labels}.")
    fractions = np.tile(np.arange(steps) / steps, len(labels))
    start = np.repeat(labels, steps)
    end = np.repeat(labels[1:] + labels[:1], steps)
    noise = np.repeat(seed_noise([seed], gan.latent_dim, truncation), len(start), axis=0)
    return gan.generate_between_classes(noise, start, end, fractions, batch_size)


def epoch_grids(run_dir):
    """A run directory's sample grids, in epoch order.

    Args:
        run_dir: the run directory (its ``samples/epoch_NNN.png``).

    Returns:
        A list of ``(epoch, path)``; empty when there are none.
    """
    folder = os.path.join(run_dir, "samples")
    found = []
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        match = re.fullmatch(r"epoch_(\d+)\.png", name)
        if match:
            found.append((int(match.group(1)), os.path.join(folder, name)))
    return sorted(found)


def timelapse(run_dir, path, seconds_per_frame=0.5):
    """Animate a run's epoch grids into ``path`` (.gif or .webp), each frame with its
    epoch written on it.

    Args:
        run_dir: the run directory.
        path: the ``.gif`` or ``.webp`` file to write.
        seconds_per_frame: how long each epoch shows.

    Returns:
        The number of frames.

    Raises:
        ValueError: the run has no sample grids, or ``path`` has another suffix.
    """
    from PIL import Image

    grids = epoch_grids(run_dir)
    if not grids:
        raise ValueError(f"{run_dir!r} has no sample grids (samples/epoch_NNN.png): "
                         "give the --out folder of a train run that completed an epoch.")
    frames = []
    for epoch, grid in grids:
        with Image.open(grid) as picture:
            pixels = np.asarray(picture.convert("L" if picture.mode in ("L", "LA", "P")
                                                else "RGB"))
        frames.append(label_frame(pixels, f"epoch {epoch}"))
    save_animation(np.stack(frames), path, seconds_per_frame=seconds_per_frame)
    return len(frames)


__all__ = ["walk_images", "epoch_grids", "timelapse", "parse_seeds", "check_truncation",
           "MIN_TRUNCATION", "seed_noise", "truncate", "slerp", "walk",
           "missing_seeds", "write_seed_images", "save_animation", "label_frame"]
