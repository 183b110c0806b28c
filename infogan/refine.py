"""`python -m infogan.refine`: label-free refinement of Q after training.

The command keeps its short name; the code lives in `infogan.training.refine`.
"""

import sys

from infogan.training.refine import main

if __name__ == "__main__":
    sys.exit(main())
