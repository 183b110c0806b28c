"""`python -m infogan.synthesize`: a labelled synthetic image folder from a checkpoint.

The command keeps its short name; the code lives in `infogan.export.synthesize`.
"""

import sys

from infogan.export.synthesize import main

if __name__ == "__main__":
    sys.exit(main())
