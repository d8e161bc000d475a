"""Input pipelines: image sources -> batched ``tf.data`` of images in [-1, 1].

Every image source ends up as the same thing: a batched, prefetched
``tf.data.Dataset`` whose elements are float32 tensors of shape
``(batch, height, width, channels)`` with values in [-1, 1] (the range of the
generator's ``tanh`` output), ready for ``Model.fit``. Elements are images
only, unless ``labels=True`` asks for ``(images, labels)`` pairs (integer class
indices) for class-conditional models; the dataset then carries its class names
as ``dataset.class_names`` (as Keras' ``image_dataset_from_directory`` does).

Sources accepted by :func:`load_dataset`:

* a TFDS image dataset name (``"cifar10"``, ``"mnist"``, ...), loaded through
  ``tensorflow_datasets``; for ``"fashion_mnist"`` and ``"mnist"`` local IDX
  files are looked for first (see :func:`local_idx_dir`), so that training
  works offline;
* a directory of MNIST-format IDX files, or a single IDX file;
* a directory of image files (png/jpg/jpeg/bmp/gif, class sub-folders
  allowed);
* a numpy array (or a ``.npy`` / ``.npz`` file holding one).

One module per idea: ``idx`` (the IDX reader and the local-file lookup), ``options``
(the shared settings and their checks), ``pipeline`` (the ``tf.data`` conversion and
batching), ``arrays`` / ``folders`` / ``tfds`` (one per kind of source) and ``sources``
(which reader a source goes to). The 2-D toy sets live in :mod:`keras_wgan.toy`, beside
the toy experiments; ``toy_dataset``, ``sample_toy``, ``toy_centers`` and
``TOY_DATASETS`` are still importable from here (the README's API tour lists
``toy_dataset`` under this package), resolved on first use so that the input pipelines
never import the experiments that sit above them.
"""

from keras_wgan.data.folders import IMAGE_EXTENSIONS, BadFilesSkipped
from keras_wgan.data.idx import (
    CLASS_NAMES,
    DATA_DIR_ENV,
    DEBIAN_DATA_DIRS,
    IDX_SUBDIRS,
    IdxFiles,
    IdxFormatError,
    find_idx_files,
    local_idx_dir,
    read_idx,
)
from keras_wgan.data.pipeline import TooFewImagesError
from keras_wgan.data.sources import load_dataset, load_labelled_arrays
from keras_wgan.data.tfds import DataUnavailableError, UnknownDatasetError

# Names that moved to keras_wgan.toy; the README's API tour lists toy_dataset here.
_TOY_NAMES = ("TOY_DATASETS", "sample_toy", "toy_centers", "toy_dataset")

__all__ = [
    "CLASS_NAMES",
    "DATA_DIR_ENV",
    "DEBIAN_DATA_DIRS",
    "IDX_SUBDIRS",
    "IMAGE_EXTENSIONS",
    "TOY_DATASETS",
    "BadFilesSkipped",
    "DataUnavailableError",
    "TooFewImagesError",
    "UnknownDatasetError",
    "IdxFiles",
    "IdxFormatError",
    "find_idx_files",
    "load_dataset",
    "load_labelled_arrays",
    "local_idx_dir",
    "read_idx",
    "sample_toy",
    "toy_centers",
    "toy_dataset",
]


def __getattr__(name):
    # PEP 562: the toy names resolve on first use, from keras_wgan.toy (which builds on
    # the models and nets; the pipelines here must not depend on it at import).
    if name in _TOY_NAMES:
        from keras_wgan import toy

        return getattr(toy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_TOY_NAMES))
