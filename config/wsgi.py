import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# The operator console's Nodes list shows this web server (apps/core/heartbeat.py).
from apps.core.heartbeat import start_web_reporter  # noqa: E402

start_web_reporter()
