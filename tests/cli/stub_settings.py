"""Settings of the live server of tests/cli: the test settings plus ONE TEST-ONLY STUB, the
operations endpoints (stub_urls.py), which another branch builds for real. Nothing else differs."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.cli.stub_urls"
