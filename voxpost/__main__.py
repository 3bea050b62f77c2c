import sys

from voxpost.cli import main

sys.exit(main())
