from keras_wgan.cli import main

raise SystemExit(main())
