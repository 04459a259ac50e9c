"""Django's built-in Redis cache backend against hoard: its own behaviour end to end."""
import sys

import django
from django.conf import settings

port = int(sys.argv[1])
settings.configure(CACHES={"default": {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": f"redis://127.0.0.1:{port}",
}})
django.setup()
from django.core.cache import cache  # noqa: E402

cache.set("greeting", {"hello": "world"}, timeout=100)
assert cache.get("greeting") == {"hello": "world"}
assert cache.get("missing", "default") == "default"
assert cache.add("greeting", "x") is False and cache.add("new", 1) is True
cache.set_many({"a": 1, "b": [1, 2], "c": "three"}, timeout=100)
assert cache.get_many(["a", "b", "c", "zz"]) == {"a": 1, "b": [1, 2], "c": "three"}
assert cache.incr("a") == 2 and cache.incr("a", 10) == 12 and cache.decr("a", 2) == 10
try:
    cache.incr("nope")
    raise AssertionError("incr of a missing key must raise")
except ValueError:
    pass
assert cache.touch("c", 5) is True and cache.touch("zz") is False
assert cache.has_key("b") and not cache.has_key("zz")
cache.delete_many(["a", "b"])
assert cache.get_many(["a", "b", "c"]) == {"c": "three"}
assert cache.get_or_set("lazy", lambda: 42) == 42 and cache.get("lazy") == 42
assert cache.delete("c") is True and cache.delete("c") is False
cache.clear()
assert cache.get("greeting") is None and cache.get("lazy") is None
print("ok")
