"""`python -m policydsl`: the `policyc` command line."""

import sys

from policydsl.cli import main

if __name__ == "__main__":
    sys.exit(main(prog_name="python -m policydsl"))
