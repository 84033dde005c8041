"""API rate limits, counted per API key in the shared cache."""

from rest_framework.throttling import SimpleRateThrottle

from sellers.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """`DEFAULT_THROTTLE_RATES["api_key"]` requests per key; beyond, 429 with Retry-After.
    Requests without a key are refused before they count (401)."""

    scope = "api_key"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
