"""`python -m infogan.annotate`: name a checkpoint's codes and categories.

The command keeps its short name; the code lives in `infogan.export.annotate`.
"""

import sys

from infogan.export.annotate import main

if __name__ == "__main__":
    sys.exit(main())
