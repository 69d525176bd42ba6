from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """Paths answer with and without a trailing slash (API.md writes them without)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
