#!/usr/bin/env python3
"""Writes RESP commands for `redis-cli --pipe` that prefill hoard for
bench/cache-get.sh. Ids are 12-digit zero-padded, the format redis-benchmark's
`__rand_int__` expands to, so `-r COUNT` hits exactly these entries.

usage: gen_resp.py small|user|big COUNT > out.resp

small: perm:<id> / user:<id> plain keys holding the same JSON text as
       CACHE.SET UserPermissions <json> <id> / CACHE.SET UserCache <json> <id>
user:  user:<id> plain keys and CACHE.SET UserCache <json> <id> only (for a
       server that loads nothing but a UserCache, as bench/languages.sh runs)
big:   userbig:<id> plain keys and CACHE.SET UserCache <json> <id> with a
       ~2 KiB JSON value (above UserCache's 1 KiB compression threshold)
"""

import sys

WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
         "tempor incididunt ut labore et dolore magna aliqua ").split()


def perm_json(i: str) -> str:
    return '{"userId":"%s","roles":["reader","writer"]}' % i


def user_json(i: str) -> str:
    return '{"id":"%s","email":"u%s@example.com","name":"User %s"}' % (i, i, i)


def user_big_json(i: str, n: int) -> str:
    # Text-like and compressible (as a real profile would be), ~2 KiB.
    bio, k, length = [], n, 0
    while length < 1900:
        word = WORDS[k % len(WORDS)]
        bio.append(word)
        length += len(word) + 1
        k = (k * 7 + 3) % 1000003
    return '{"id":"%s","email":"u%s@example.com","name":"User %s","bio":"%s"}' % (
        i, i, i, " ".join(bio))


def cmd(*args: str) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def main() -> None:
    mode, count = sys.argv[1], int(sys.argv[2])
    w = sys.stdout.buffer
    for n in range(count):
        i = "%012d" % n
        if mode == "small":
            p, u = perm_json(i), user_json(i)
            w.write(cmd("SET", "perm:" + i, p))
            w.write(cmd("SET", "user:" + i, u))
            w.write(cmd("CACHE.SET", "UserPermissions", p, i))
            w.write(cmd("CACHE.SET", "UserCache", u, i))
        elif mode == "user":
            u = user_json(i)
            w.write(cmd("SET", "user:" + i, u))
            w.write(cmd("CACHE.SET", "UserCache", u, i))
        elif mode == "big":
            u = user_big_json(i, n)
            w.write(cmd("SET", "userbig:" + i, u))
            w.write(cmd("CACHE.SET", "UserCache", u, i))
        else:
            sys.exit("mode must be small, user or big")


if __name__ == "__main__":
    main()
