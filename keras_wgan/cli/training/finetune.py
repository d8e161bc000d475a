"""Fine-tuning: ``train --init-from MODEL.keras [--freeze-critic N]``.

A new run starts from a trained model's nets (and weight average) with the source run's
net settings, read from the ``config.json`` beside the model; flags that contradict them
are refused, and so is data of another image shape or class count. ``--freeze-critic N``
freezes the critic's first N convolution and dense layers (FreezeD, Mo et al. 2020;
BatchNorm and other normalisation layers are not counted and stay trainable, see
:mod:`keras_wgan.models.freezing`) before the optimizers are built, so they are built on
the trainable variables only and the saved file keeps the layers frozen on resume.
"""

import os

from keras_wgan.cli.common import PROG, CliError, check_model_path, load_gan, read_json
from keras_wgan.cli.common import flag
from keras_wgan.cli.training.settings import NET_SETTINGS, OLD_RUN_VALUES



def with_source(given, args):
    """``given`` with ``--init-from``'s net settings (the source run's config.json)
    underneath; a flag that contradicts them is refused."""
    if args.init_from is None:
        if given.get("freeze_critic"):
            raise CliError("--freeze-critic belongs to fine-tuning: add --init-from "
                           "MODEL.keras (a trained model), or drop --freeze-critic")
        return given
    if args.resume:
        raise CliError(f"--init-from starts a new run from a trained model; a fine-tuned "
                       f"run continues with: {PROG} train --resume --out {args.out}")
    check_model_path(args.init_from)
    config = read_json(os.path.join(os.path.dirname(os.path.abspath(args.init_from)),
                                    "config.json"))
    if config is None:
        raise CliError(f"--init-from {args.init_from!r}: no config.json beside it, so its "
                       "nets' settings are unknown; give a model.keras or best.keras of a "
                       f"{PROG} train run directory")
    source = {**OLD_RUN_VALUES, **config}
    for key in NET_SETTINGS:
        if key in given and given[key] != source.get(key):
            raise CliError(
                f"{flag(key)} {given[key]} contradicts --init-from {args.init_from!r}, "
                f"whose nets have {flag(key)} {source.get(key)}: fine-tuning keeps the "
                f"source's nets; drop {flag(key)}")
    return {**{k: source[k] for k in NET_SETTINGS if k in source}, **given,
            "init_from": os.path.abspath(args.init_from)}


def initialised_from(settings, gan, image_shape, class_names):
    """``gan`` (built, uncompiled) with the weights of ``settings["init_from"]`` and its
    critic's first ``freeze_critic`` convolution and dense layers frozen; refusals name a
    mismatch."""
    path = settings["init_from"]
    source = load_gan(path, compile=False)
    if tuple(source.sample_shape) != tuple(image_shape):
        what = "channels" if source.sample_shape[:2] == tuple(image_shape[:2]) else "size"
        raise CliError(
            f"--init-from {path!r} makes {'x'.join(map(str, source.sample_shape))} images "
            f"but --dataset {settings['dataset']!r} has {'x'.join(map(str, image_shape))} "
            f"({what} differ): fine-tune on images of the source's shape, e.g. "
            f"--image-size {source.sample_shape[0]}")
    if source.num_classes != gan.num_classes:
        raise CliError(
            f"--init-from {path!r} has {source.num_classes or 'no'} classes but --dataset "
            f"{settings['dataset']!r} has {len(class_names or []) or 'none'}: a conditional "
            "source needs the same classes (a sub-folder per class)")
    for name in ("generator", "critic", "ema_generator"):
        mine, theirs = getattr(gan, name), getattr(source, name)
        if mine is not None:
            mine.set_weights((theirs if theirs is not None else source.generator)
                             .get_weights())
    from keras_wgan.models.freezing import freeze_first

    try:
        freeze_first(gan.critic, settings.get("freeze_critic") or 0)
    except ValueError as error:
        raise CliError(f"--freeze-critic {settings.get('freeze_critic')}: "
                       f"{str(error).replace('e.g. freeze', 'e.g. --freeze-critic')}") from None
    return gan
