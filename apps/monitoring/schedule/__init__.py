"""The check schedule index: a shared (public-schema) app of its own, because django-tenants
decides where tables live by app and the monitoring app's tables live in tenant schemas."""
