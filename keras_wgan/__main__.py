"""`python -m keras_wgan`: the `keras-wgan` command line, for environments without the script."""

from keras_wgan.cli import main

raise SystemExit(main())
