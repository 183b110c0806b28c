"""`python -m infogan.export_web`: the static in-browser explorer site.

The command keeps its short name; the code lives in `infogan.export.web_site`.
"""

import sys

from infogan.export.web_site import main

if __name__ == "__main__":
    sys.exit(main())
