"""``python -m learning_content``: the same as the ``learning-validate`` console script."""

import sys

from .validate import main

sys.exit(main())
