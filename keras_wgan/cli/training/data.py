"""A run's data: the dataset its settings name, in the order its seed gives, and its epoch.

The data stream is a function of the settings alone (seeded shuffling), so a resumed run
skips the batches it used and sees the ones it would have seen.
"""

import os
import sys

from keras_wgan.cli.common import PROG, CliError


def _looks_like_path(name):
    name = str(name)
    return os.sep in name or "/" in name or name.lower().endswith(
        (".npy", ".npz", ".gz", "ubyte", ".png", ".jpg", ".jpeg"))


def load_data(settings, seed, skipped=None):
    """The dataset; with --skip-bad-files, ``skipped`` gets the (path, reason) left out."""
    import warnings

    from keras_wgan.data import (
        BadFilesSkipped,
        DataUnavailableError,
        TooFewImagesError,
        UnknownDatasetError,
        load_dataset,
    )

    dataset = settings["dataset"]
    if _looks_like_path(dataset) and not os.path.exists(dataset):
        raise CliError(f"--dataset {dataset!r}: no such file or directory.")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = load_dataset(
                settings["dataset"],
                image_size=settings["image_size"],
                batch_size=settings["batch_size"],
                split="train",
                shuffle=True,
                seed=seed,
                data_dir=settings["data_dir"],
                labels=bool(settings.get("conditional")),
                on_error="skip" if settings["skip_bad_files"] else "raise",
            )
    except TooFewImagesError as error:
        raise CliError(
            f"--dataset {dataset!r} holds {error.count} images, fewer than one batch of "
            f"--batch-size {error.batch_size}: pass a smaller --batch-size, e.g. {PROG} train "
            f"--dataset {dataset} --batch-size {_smaller_batch(error.count)} --out "
            f"{settings['out']}"
        ) from None
    except UnknownDatasetError as error:
        example = (error.suggestions or ["fashion_mnist"])[0]
        raise CliError(f"--dataset {error}; e.g. {PROG} train --dataset {example} "
                       f"--out {settings['out']}") from None
    except (ValueError, TypeError, OSError, DataUnavailableError) as error:
        hint = "" if settings["skip_bad_files"] or "cannot read image file" not in str(error) \
            else "; add --skip-bad-files to train without the unreadable files"
        raise CliError(f"cannot load --dataset {dataset!r}: {error}{hint}") from None
    for warning in caught:
        if isinstance(warning.message, BadFilesSkipped) and skipped is not None:
            skipped.extend(warning.message.files)
        if skipped is not None or not isinstance(warning.message, BadFilesSkipped):
            print(f"warning: {warning.message}", file=sys.stderr)
    return data


def _smaller_batch(count):
    """The largest power of two up to ``count``: a batch size a small folder fills."""
    return 1 << (max(count, 1).bit_length() - 1)


def seeded_data(settings, skipped=None):
    """The run's dataset, whose order depends on --seed alone: tf.data derives a shuffle's
    order from the op seed *and* TensorFlow's global seed, so both are set."""
    import tensorflow as tf

    tf.random.set_seed(settings["seed"])
    return load_data(settings, seed=settings["seed"], skipped=skipped)


def epoch_length(settings, dataset):
    """--steps-per-epoch, or one pass over the data cut to whole n_critic blocks (so that
    every epoch ends on a generator update; the leftover batches start the next epoch)."""
    steps = settings["steps_per_epoch"]
    if steps is None:
        batches = int(dataset.cardinality())
        n_critic = settings["n_critic"]
        steps = batches - batches % n_critic if batches >= n_critic else batches
    return steps
