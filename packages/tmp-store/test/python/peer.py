"""A Python instance sharing the store, doing what eventail's STDataStore does, call for call.

Usage: peer.py PORT NAMESPACE ACTION [ARGS...]; prints one JSON line per result.
Values are printed as JSON with bytes as {"$bytes": hex}.
"""

import json
import sys

import cbor2
import redis

port, namespace, action, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
r = redis.Redis(host="127.0.0.1", port=port, db=0)

SAMPLE = {
    "text": "\u00e9\u2603",
    "int": 1,
    "big": 2**40,
    "neg": -5,
    "float": 1.5,
    "bytes": b"\x00\xff",
    "list": [1, "a", None, True, False],
    "nested": {"a": {"b": []}},
}


def k(key):
    return namespace + key


def plain(value):
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, dict):
        return {key: plain(v) for key, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def out(value):
    print(json.dumps(plain(value)), flush=True)


def pop(key):
    got, _ = r.pipeline().get(k(key)).delete(k(key)).execute()
    return cbor2.loads(got) if got is not None else None


def mpop(*keys):
    rkeys = [k(key) for key in keys]

    def all_or_nothing(pipe):
        values = pipe.mget(rkeys)
        pipe.multi()
        if all(values):
            pipe.delete(*rkeys)
            return values
        return None

    res = r.transaction(all_or_nothing, *rkeys, value_from_callable=True, watch_delay=0.1)
    return [cbor2.loads(v) for v in res] if res else None


if action == "write":
    r.setex(k("py-set"), 270, cbor2.dumps(SAMPLE))
    pipe = r.pipeline()
    pipe.mset({k("py-m1"): cbor2.dumps("one"), k("py-m2"): cbor2.dumps([2])})
    for key in ("py-m1", "py-m2"):
        pipe.expire(k(key), 100)
    pipe.execute()
    out("written")
elif action == "read":
    peeked = r.get(k("ts-set"))
    out(
        {
            "sample_bytes_equal": peeked == cbor2.dumps(SAMPLE),
            "peek": cbor2.loads(peeked),
            "pop": pop("ts-set"),
            "pop_again": pop("ts-set"),
            "mpop_missing": mpop("ts-m1", "ts-m2", "nope"),
            "mpop": mpop("ts-m1", "ts-m2"),
            "ttls": [r.ttl(k("ts-short"))],
        }
    )
elif action == "pop-all":  # from the last key to the first
    r.ping()
    out("ready")
    sys.stdin.readline()
    out([key for key in reversed(args) if pop(key) is not None])
elif action == "try-lock":
    lock = r.lock(args[0] + "_lock", timeout=5, blocking_timeout=float(args[1]))
    got = lock.acquire()
    if got:
        lock.release()
    out(got)
elif action == "hold-lock":
    lock = r.lock(args[0] + "_lock", timeout=30)
    lock.acquire()
    out("locked")
    sys.stdin.readline()
    r.setex(k(args[0]), 270, cbor2.dumps("made by python"))
    lock.release()
    out("released")
