"""The Python peer of the interop test: eventail's CBOR library (cbor2) on the other side.

stdin: {"ours": {name: hex written by @am/codec}, "typed": {name: typed value}}
stdout: {"decoded": {name: typed value cbor2 read from our bytes, or {"error": ...}},
         "dumped": {name: hex of cbor2.dumps(value built from the typed form)}}
"""
import datetime
import io
import json
import sys

import cbor2


def typed(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, (list, tuple)):
        return {"array": [typed(item) for item in value]}
    if isinstance(value, dict):
        return {"map": [[typed(key), typed(item)] for key, item in value.items()]}
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    raise TypeError(f"no typed form for {value!r}")


def build(form):
    if form is None or isinstance(form, bool):
        return form
    ((kind, content),) = form.items()
    if kind == "int":
        return int(content)
    if kind == "float":
        return float(content)
    if kind == "str":
        return content
    if kind == "bytes":
        return bytes.fromhex(content)
    if kind == "array":
        return [build(item) for item in content]
    if kind == "map":
        return {build(key): build(item) for key, item in content}
    if kind == "datetime":
        return datetime.datetime.fromisoformat(content)
    raise ValueError(kind)


def loads_exactly_one(data):
    stream = io.BytesIO(data)
    value = cbor2.CBORDecoder(stream).decode()
    rest = stream.read()
    if rest:
        raise ValueError(f"{len(rest)} trailing bytes")
    return value


request = json.load(sys.stdin)
decoded = {}
for name, text in request["ours"].items():
    try:
        decoded[name] = typed(loads_exactly_one(bytes.fromhex(text)))
    except Exception as error:  # reported to the test, which fails on it
        decoded[name] = {"error": f"{type(error).__name__}: {error}"}
dumped = {name: cbor2.dumps(build(form)).hex() for name, form in request["typed"].items()}
json.dump({"decoded": decoded, "dumped": dumped}, sys.stdout)
