"""Entry point of ``python -m custom_components.landis_gyr_optical``."""

import sys

from .cli import main

sys.exit(main())
