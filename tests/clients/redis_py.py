"""redis-py against hoard: default (transactional) pipeline, counters, MGET/MSET, scan_iter,
hashes, WATCH retry, and RESP3 client-side caching. Exits non-zero on the first mismatch."""
import sys

import redis
from redis.cache import CacheConfig

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)

# The default pipeline wraps the batch in MULTI/EXEC.
pipe = r.pipeline()
pipe.set("a", 1).incr("a").incrby("a", 5).get("a").mset({"b": "x", "c": "y"}).mget("a", "b", "c", "nope")
assert pipe.execute() == [True, 2, 7, "7", True, ["7", "x", "y", None]], "pipeline"

assert r.incr("n") == 1 and r.decr("n", 3) == -2 and r.incrbyfloat("f", 1.5) == 1.5
assert r.setnx("a", "z") is False and r.getset("a", "8") == "7" and r.getdel("a") == "8"
assert r.set("t", "v", ex=100) and 99 <= r.ttl("t") <= 100 and r.expire("t", 50, gt=True) is False
assert r.append("s", "ab") == 2 and r.strlen("s") == 2

# WATCH + retry, the optimistic-locking recipe from redis-py's README.
def double(p):
    value = int(p.get("counter") or 0)
    p.multi()
    p.set("counter", value * 2 + 1)
r.transaction(double, "counter")
r.transaction(double, "counter")
assert r.get("counter") == "3", r.get("counter")

# scan_iter over more keys than one page.
r.mset({f"user:{i}": i for i in range(500)})
found = set(r.scan_iter(match="user:*", count=50))
assert found == {f"user:{i}" for i in range(500)}, len(found)
assert set(r.keys("user:1?")) == {f"user:{i}" for i in range(10, 20)}

r.hset("h", mapping={"f1": "1", "f2": "2"})
assert r.hgetall("h") == {"f1": "1", "f2": "2"} and r.hincrby("h", "f1", 4) == 5
assert r.hmget("h", "f1", "zz") == ["5", None] and r.type("h") == "hash"

# Client-side caching (RESP3, server-assisted): a cached read is invalidated by a write
# from another connection.
cached = redis.Redis(host="127.0.0.1", port=port, protocol=3, decode_responses=True,
                     cache_config=CacheConfig())
other = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
other.set("cc", "one")
assert cached.get("cc") == "one"
before = other.info("stats")["total_commands_processed"]
assert cached.get("cc") == "one" and cached.get("cc") == "one"
after = other.info("stats")["total_commands_processed"]
assert after - before == 1, f"cached reads reached the server: {after - before - 1}"
assert cached.get_cache().size >= 1, "the value was cached"
other.set("cc", "two")
assert cached.get("cc") == "two", "the invalidation reached the client cache"
print("ok")
