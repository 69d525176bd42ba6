"""Auth routes: allauth's pages under /accounts/ and its headless JSON API under /api/v1/auth/."""

page_urlpatterns: list = []
api_urlpatterns: list = []
