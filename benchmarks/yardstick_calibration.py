"""Calibrates the domain yardstick: how far known damage to real images moves its fd.

A generator's ``fd`` only ranks recipes if the yardstick's classifier notices the defects
generators make. So this scores damaged copies of the real TEST images against the test
split (``DomainYardstick.score``) beside the floor (``DomainYardstick.floor``: as many
real TRAINING images against the test split, a perfect generator's score): the test
images unperturbed (the reference's own images: ~0, below the floor), Gaussian noise of
sigma 0.05 and 0.1 in [-1, 1] units (clipped), a 2x blur (2x2 average pooling, then
bilinear upsampling back) and the test images less one class; and the same damage done
to as many training images (what a generator's samples are like: never the reference's
own images). The verdict: sigma 0.05 noise should score at least 10x the floor's ``fd``. Classifiers are trained once and
cached (``--cache-dir``, default ``$KERAS_WGAN_CACHE`` or ``~/.cache/keras_wgan``); an
image folder is first copied without symlinks and duplicate files, as
``colour_quality.py`` does for the oxygen icons::

    python benchmarks/yardstick_calibration.py --dataset fashion_mnist \\
        /usr/share/icons/oxygen/base/64x64 --image-size 32 64 --channels 1 3 \\
        --n 2000 --json runs/yardstick_calibration.json
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

NOISE_SIGMAS = (0.05, 0.1)
#: sigma 0.05 noise must score at least this many times the floor fd.
STRICTNESS_RATIO = 10.0
DEFAULT_N = 2000
BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
WORK_DIR = os.path.join(tempfile.gettempdir(), "keras_wgan_yardstick_calibration")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", nargs="+", required=True,
                   help="fashion_mnist, mnist, an IDX folder or a folder of <class>/*.png")
    p.add_argument("--image-size", type=int, nargs="+", default=[32],
                   help="square side, one for all datasets or one per dataset")
    p.add_argument("--channels", type=int, nargs="+", default=None,
                   help="one for all or one per dataset; default 1 for MNIST-like "
                        "datasets and IDX folders, else 3")
    p.add_argument("--n", type=int, default=DEFAULT_N,
                   help="test images scored (fewer if the test split is smaller)")
    p.add_argument("--left-out-class", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="where fashion_mnist's IDX files are")
    p.add_argument("--cache-dir", default=None,
                   help="classifier cache; default $KERAS_WGAN_CACHE or ~/.cache/keras_wgan")
    p.add_argument("--work-dir", default=WORK_DIR,
                   help="where deduplicated copies of image folders are made")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write the figures to this file")
    return p.parse_args(argv)


def per_dataset(values, count, name):
    """``values`` stretched to one per dataset (a single value serves all)."""
    if len(values) == 1:
        return values * count
    if len(values) != count:
        sys.exit(f"--{name} takes one value or one per dataset ({count}), got {len(values)}")
    return list(values)


def is_image_folder(dataset):
    from keras_wgan.data.idx import has_any_idx_images

    return os.path.isdir(dataset) and not has_any_idx_images(dataset)


def default_channels(dataset):
    """1 for the grey MNIST-like sets and IDX folders, 3 for anything else."""
    if dataset in ("fashion_mnist", "mnist") or (os.path.isdir(dataset)
                                                 and not is_image_folder(dataset)):
        return 1
    return 3


def distinct_folder(folder, work_dir):
    """A copy of ``folder``'s ``<class>/*.png`` without symlinks or duplicate files.

    The copy is reached through a link named after the source folder (e.g.
    ``oxygen-base-64x64``) because the yardstick's cache key is the folder's name, and
    ``prepare_folders``' own ``data/full`` would share the key ``full`` with any other.
    """
    if BENCHMARKS not in sys.path:
        sys.path.insert(0, BENCHMARKS)
    from colour_quality import prepare_folders  # the icon set's filter, shared

    parts = os.path.normpath(os.path.abspath(folder)).split(os.sep)
    name = "-".join(part for part in parts[-3:] if part)
    copy, _ = prepare_folders(folder, os.path.join(work_dir, name))
    link = os.path.join(work_dir, name + "-distinct", name)
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.abspath(copy), link)
    return link


def class_names(dataset, num_classes):
    """Names of the classes: the known ones, a folder's sorted sub-folders, or indices."""
    from keras_wgan.data import CLASS_NAMES

    if dataset in CLASS_NAMES:
        return list(CLASS_NAMES[dataset])
    if is_image_folder(dataset):
        subfolders = sorted(entry.name for entry in os.scandir(dataset) if entry.is_dir())
        if len(subfolders) == num_classes:
            return subfolders
    return [str(k) for k in range(num_classes)]


def with_noise(images, sigma, rng):
    """Gaussian noise of standard deviation ``sigma`` (in [-1, 1] units), clipped."""
    noisy = images + rng.normal(0.0, sigma, images.shape).astype(images.dtype)
    return np.clip(noisy, -1.0, 1.0)


def blurred_2x(images):
    """2x2 average pooling, then bilinear upsampling back to the original size."""
    import keras

    n, height, width, channels = images.shape
    if height % 2 or width % 2:
        raise ValueError(f"blurring 2x needs an even image size, got {height}x{width}")
    pooled = images.reshape(n, height // 2, 2, width // 2, 2, channels).mean(axis=(2, 4))
    upsampled = keras.ops.image.resize(pooled, (height, width), interpolation="bilinear")
    return np.clip(keras.ops.convert_to_numpy(upsampled), -1.0, 1.0).astype(images.dtype)


def sample_indices(count, n, seed):
    """``n`` sorted indices out of ``count`` (all of them when ``n >= count``)."""
    if n >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, n, replace=False))


def damaged_sets(images, labels, names, left_out, seed):
    """``[(row name, images)]``: the test images unperturbed and each damage."""
    rng = np.random.default_rng(seed)
    rows = [("test images, unperturbed", images)]
    rows += [(f"noise sigma {sigma:g}", with_noise(images, sigma, rng))
             for sigma in NOISE_SIGMAS]
    rows.append(("blurred 2x", blurred_2x(images)))
    if labels is not None:
        rows.append((f"class {left_out} ({names[left_out]}) left out",
                     images[labels != left_out]))
    return rows


def yardstick_for(dataset, image_shape, args):
    """The dataset's yardstick, and whether its classifier was already cached."""
    from keras_wgan.evaluation import DomainYardstick

    path = DomainYardstick.cache_path(dataset, image_shape, args.cache_dir)
    cached = path.exists()
    print(f"classifier: {path} ({'cached' if cached else 'training it once'})", flush=True)
    yardstick = DomainYardstick.for_dataset(dataset, image_shape, data_dir=args.data_dir,
                                            cache_dir=args.cache_dir, seed=args.seed)
    return yardstick, str(path), cached


def test_split(dataset, image_shape, yardstick, data_dir):
    """The real test images (the yardstick's reference) and their labels."""
    from keras_wgan import data

    height, width, channels = image_shape
    images, labels = data.load_labelled_arrays(dataset, "test", image_size=(height, width),
                                               data_dir=data_dir, channels=channels)
    if images.shape[0] != yardstick.reference_features.shape[0]:
        raise RuntimeError("the test split differs from the yardstick's reference")
    return images, labels


def score_row(yardstick, name, images, seed, train_images=None):
    """One damage's figures on the test images, and (``train_images``: the same damage
    done to as many training images) on training images, each over the floor."""
    figures = yardstick.score(images, seed=seed)
    floor = yardstick.floor(images.shape[0], seed=seed)
    row = {"row": name, "images": int(images.shape[0]), "fd": figures["fd"],
           "kd": figures["kd"], "kd_std": figures["kd_std"], "floor_fd": floor["fd"],
           "floor_kd": floor["kd"], "fd_over_floor": figures["fd"] / floor["fd"]}
    if train_images is not None:
        damaged = yardstick.score(train_images, seed=seed)["fd"]
        row["train_fd"] = damaged
        row["train_fd_over_floor"] = damaged / floor["fd"]
    return row


def calibrate(dataset, image_shape, args):
    """Every row's figures for one dataset, with the floor and the verdict."""
    started = time.perf_counter()
    source = distinct_folder(dataset, args.work_dir) if is_image_folder(dataset) else dataset
    yardstick, cache_path, cached = yardstick_for(source, image_shape, args)
    test_images, test_labels = test_split(source, image_shape, yardstick, args.data_dir)
    chosen = sample_indices(test_images.shape[0], args.n, args.seed)
    labels = None if test_labels is None else test_labels[chosen]
    names = class_names(source, yardstick.classifier.num_classes)
    train = yardstick.train_images
    train_chosen = sample_indices(train.shape[0], len(chosen), args.seed + 1)
    train_labels = None
    if labels is not None:
        from keras_wgan import data

        height, width, channels = image_shape
        train_labels = data.load_labelled_arrays(
            source, "train", image_size=(height, width), data_dir=args.data_dir,
            channels=channels)[1][train_chosen]
    on_test = damaged_sets(test_images[chosen], labels, names, args.left_out_class, args.seed)
    on_train = damaged_sets(train[train_chosen], train_labels, names, args.left_out_class,
                            args.seed)
    rows = [score_row(yardstick, name, images, args.seed,
                      None if name.startswith("test images") else train_images)
            for (name, images), (_, train_images) in zip(on_test, on_train)]
    floor = yardstick.floor(len(chosen), seed=args.seed)
    noise_ratio = next(r["fd_over_floor"] for r in rows if r["row"] == "noise sigma 0.05")
    accuracy = yardstick.class_accuracy_real()["mean"] if yardstick.labelled else None
    return {
        "dataset": dataset, "source": source, "image_shape": list(image_shape),
        "classifier": cache_path, "classifier_was_cached": cached,
        "labelled": yardstick.labelled, "test_images": int(test_images.shape[0]),
        "train_images": int(yardstick.train_images.shape[0]), "n": int(len(chosen)),
        "test_accuracy": accuracy,
        "floor": {"images": int(floor["num_images"]), "fd": floor["fd"], "kd": floor["kd"],
                  "kd_std": floor["kd_std"]},
        "rows": rows, "noise_0.05_over_floor": noise_ratio,
        "strict_enough": bool(noise_ratio >= STRICTNESS_RATIO),
        "seconds": round(time.perf_counter() - started, 1),
    }


def print_table(result):
    height, width, channels = result["image_shape"]
    accuracy = result["test_accuracy"]
    print(f"\n{result['dataset']} at {height}x{width}x{channels}: {result['n']} of "
          f"{result['test_images']} test images scored against all {result['test_images']}"
          + (f"; classifier test accuracy {accuracy:.3f}" if accuracy is not None else ""))
    print(f"{'row':<40}{'images':>7}{'fd':>11}{'kd':>10}{'fd / floor fd':>15}"
          f"{'on train: fd':>14}{'/ floor':>9}")
    floor = result["floor"]
    print(f"{'floor: real train images vs test':<40}{floor['images']:>7}{floor['fd']:>11.4f}"
          f"{floor['kd']:>10.4f}{1.0:>15.2f}")
    for row in result["rows"]:
        on_train = (f"{row['train_fd']:>14.4f}{row['train_fd_over_floor']:>9.2f}"
                    if "train_fd" in row else "")
        print(f"{row['row']:<40}{row['images']:>7}{row['fd']:>11.4f}{row['kd']:>10.4f}"
              f"{row['fd_over_floor']:>15.2f}{on_train}")
    if result["n"] == result["test_images"]:
        print("(the unperturbed row is the reference set itself)")
    else:
        print("(the unperturbed row is a subset of the reference set)")


def verdict(result):
    ratio = result["noise_0.05_over_floor"]
    judgement = ("the classifier is strict enough to rank recipes" if result["strict_enough"]
                 else "too lenient")
    return (f"verdict {result['dataset']}: sigma 0.05 noise scores {ratio:.1f}x the floor "
            f"fd (needs {STRICTNESS_RATIO:g}x): {judgement}")


def main(argv=None):
    args = parse_args(argv)
    count = len(args.dataset)
    sizes = per_dataset(args.image_size, count, "image-size")
    channels = per_dataset(args.channels or [None], count, "channels")
    results = []
    for dataset, size, depth in zip(args.dataset, sizes, channels):
        depth = default_channels(dataset) if depth is None else depth
        result = calibrate(dataset, (size, size, depth), args)
        print_table(result)
        print(verdict(result))
        print(f"({result['seconds']:.0f} s)", flush=True)
        results.append(result)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
