"""The image sizes each built-in family accepts: plain arithmetic, written once.

The builders refuse other shapes with these rules, and the registry
(:mod:`keras_wgan.architectures.registry`) reads them to list and check sizes before
any net is built; no Keras here, so the command line can check a size before it loads
Keras.
"""

# The DCGAN nets' three 2x stages: both sides a multiple of 8.
DCGAN_STAGES = 3
# The ResNets start from a grid of MIN_BASE to MAX_BASE cells a side.
MIN_BASE, MAX_BASE = 4, 7


def dcgan_fits(height, width):
    step = 2**DCGAN_STAGES
    return height >= step and width >= step and not height % step and not width % step


def resnet_stages(height, width):
    """How many 2x stages the ResNets use for (height, width), or None when none fits:
    the smaller side must be ``b * 2**n``, ``b`` in 4..7, ``n >= 1``, the other side a
    multiple of ``2**n``."""
    smaller = min(height, width)
    stages = (smaller // MIN_BASE).bit_length() - 1  # the largest n with 4 * 2**n <= side
    if stages < 1 or smaller % 2**stages or max(height, width) % 2**stages:
        return None
    return stages


def resnet_fits(height, width):
    return resnet_stages(height, width) is not None


def square_sizes(fits, limit):
    """The square sides up to ``limit`` that ``fits(height, width)`` accepts."""
    return [side for side in range(1, int(limit) + 1) if fits(side, side)]
