"""A package whose setup.py attacks the host while pip builds it (a hostile build step). The
test packs it as an sdist with attacks.py and TARGETS.json beside it."""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import attacks  # noqa: E402
from setuptools import setup  # noqa: E402

marker = Path(os.environ["HOME"], "attacks-build.json")
if not marker.exists():
    marker.write_text(json.dumps(attacks.run_all(), indent=1))

setup(name="buildhook", version="1.0", py_modules=[])
