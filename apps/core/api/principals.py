def principal_of(request) -> str:
    """Who is calling, as a stable string: the credential's own id, else the user, else the IP."""
    # Credentials other than a session (API keys) name their own bucket.
    ident = getattr(getattr(request, "auth", None), "throttle_ident", None)
    if ident:
        return str(ident)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"
