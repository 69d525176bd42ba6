"""Apps, builds, releases, deployments and the runtime providers. Imported by base.py."""

import environ

env = environ.Env()
