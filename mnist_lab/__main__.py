"""``python -m mnist_lab``: the command-line interface (see `mnist_lab.cli`)."""

import sys

from mnist_lab.cli.main import main

sys.exit(main())
