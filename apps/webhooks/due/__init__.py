"""The public-schema due index of outgoing webhooks: an app of its own (SHARED_APPS), as
apps.monitoring.schedule is for checks."""
