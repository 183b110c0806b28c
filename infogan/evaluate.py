"""`python -m infogan.evaluate`: measure how disentangled a checkpoint's codes are.

The command keeps its short name; the code lives in `infogan.metrics.evaluate`.
"""

import sys

from infogan.metrics.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
