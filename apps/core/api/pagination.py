from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors; newest first unless a view says otherwise."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")
