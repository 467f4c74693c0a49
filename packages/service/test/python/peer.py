"""A Python eventail-style peer, raw AMQP (pika + cbor2) per docs/protocol.md, no framework.

usage: peer.py client <amqp_url> <service>    send a command, an event, read the result, the event and a log
                                              (each also as the handler call eventail would make: "*_call")
       peer.py responder <amqp_url> <service> <count>   answer <count> <service>.Square commands as eventail does
Prints one JSON object on stdout.
"""
import json
import sys
import time
import uuid

import cbor2
import pika


def connect(url):
    return pika.BlockingConnection(pika.URLParameters(url))


def props(conversation_id, reply_to="", correlation_id="", content_type="application/cbor", status=None):
    headers = {"conversation_id": conversation_id} if status is None else {"status": status, "conversation_id": conversation_id}
    return pika.BasicProperties(content_type=content_type, headers=headers, delivery_mode=2,
                                correlation_id=correlation_id, reply_to=reply_to)


def eventail_call(method, p, body):
    """The handler call eventail 2.3.6 makes for a delivery (docs/protocol.md: consuming a delivery, handler dispatch), or why it refuses it."""
    headers = dict(p.headers or {})
    if method.exchange != "configurations" and "conversation_id" not in headers:
        return {"refused": "Missing headers on " + method.routing_key}
    conversation_id = headers.pop("conversation_id", "")
    if not body:
        payload = None
    else:
        try:
            payload = cbor2.loads(body) if p.content_type == "application/cbor" else json.loads(body)
        except ValueError:
            return {"refused": "Unable to decode payload for " + method.routing_key}
    meta = dict(headers, timestamp=p.timestamp, expiration=p.expiration, user_id=p.user_id, app_id=p.app_id,
                delivery_tag=method.delivery_tag)
    if method.exchange == "commands":
        status = headers.pop("status", "")
        meta.pop("status", None)
        if not p.reply_to and not status:
            return {"refused": "invalid enveloppe for command/result"}
        if p.reply_to:
            return {"handler": "handle_command", "command": method.routing_key, "payload": payload,
                    "conversation_id": conversation_id, "reply_to": p.reply_to,
                    "correlation_id": p.correlation_id, "meta": meta}
        return {"handler": "handle_result", "key": method.routing_key, "payload": payload,
                "conversation_id": conversation_id, "status": status, "correlation_id": p.correlation_id, "meta": meta}
    if method.exchange == "events":
        return {"handler": "handle_event", "event": method.routing_key, "payload": payload,
                "conversation_id": conversation_id, "meta": meta}
    return {"handler": "handle_config", "configuration": method.routing_key, "payload": payload, "meta": meta}


def declare_exchanges(ch):
    for name in ("events", "commands", "configurations", "logs"):
        ch.exchange_declare(name, exchange_type="topic", durable=True)


def wait_for(conn, done, seconds):
    deadline = time.time() + seconds
    while not done() and time.time() < deadline:
        conn.process_data_events(time_limit=0.1)
    return done()


def client(url, service):
    conn = connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    declare_exchanges(ch)
    me = "pypeer-" + uuid.uuid4().hex[:8]
    reply_key = me + ".EchoReturn"
    q_results = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q_results, "commands", reply_key)
    q_events = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q_events, "events", service + "-Answered")
    q_logs = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q_logs, "logs", service + ".*")
    got = {"result": None, "event": None, "logs": []}

    def on_result(c, method, p, body):
        got["result"] = {"routing_key": method.routing_key, "headers": list(p.headers.items()),
                         "correlation_id": p.correlation_id, "reply_to": p.reply_to, "content_type": p.content_type,
                         "delivery_mode": p.delivery_mode, "payload": cbor2.loads(body)}
        got["result_call"] = eventail_call(method, p, body)
        c.basic_ack(method.delivery_tag)

    def on_event(c, method, p, body):
        got["event"] = {"routing_key": method.routing_key, "headers": p.headers, "content_type": p.content_type,
                        "payload": json.loads(body) if p.content_type == "application/json" else cbor2.loads(body)}
        got["event_call"] = eventail_call(method, p, body)
        c.basic_ack(method.delivery_tag)

    def on_log(c, method, p, body):
        got["logs"].append({"routing_key": method.routing_key, "gelf": json.loads(body)})
        c.basic_ack(method.delivery_tag)

    ch.basic_consume(q_results, on_result)
    ch.basic_consume(q_events, on_event)
    ch.basic_consume(q_logs, on_log)
    big = 1732800000000
    ch.basic_publish("commands", service + ".Echo", cbor2.dumps({"text": "héllo ☃", "at": big, "f": 1.5, "raw": b"\x00\xff"}),
                     props("py-conv-1", reply_to=reply_key, correlation_id="py-corr-1"), mandatory=True)
    ch.basic_publish("events", service + "-Asked", json.dumps({"question": 42}, ensure_ascii=False).encode(),
                     props("py-conv-2", content_type="application/json"))
    wait_for(conn, lambda: got["result"] and got["event"] and got["logs"], 20)
    conn.close()
    print(json.dumps(exact(got), default=lambda v: {"bytes": v.hex()} if isinstance(v, bytes) else str(v)))


def exact(value):
    """Integers JSON readers would round (beyond 2^53) as {"int": digits}."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > 2 ** 53 - 1:
        return {"int": str(value)}
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [exact(v) for v in value]
    return value


def responder(url, service, count):
    conn = connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    declare_exchanges(ch)
    q = ch.queue_declare(service + ".commands", durable=True).method.queue
    ch.queue_bind(q, "commands", service + ".Square")
    ch.basic_qos(prefetch_count=3)
    seen = []

    def on_command(c, method, p, body):
        n = cbor2.loads(body) if p.content_type == "application/cbor" else json.loads(body)
        seen.append({"payload": n, "reply_to": p.reply_to, "correlation_id": p.correlation_id,
                     "conversation_id": p.headers.get("conversation_id")})
        if isinstance(n, int):
            c.basic_publish("commands", p.reply_to, cbor2.dumps(n * n),
                            props(p.headers["conversation_id"], correlation_id=p.correlation_id, status="success"), mandatory=True)
        else:
            c.basic_publish("commands", p.reply_to, cbor2.dumps({"reason": "not an int"}),
                            props(p.headers["conversation_id"], correlation_id=p.correlation_id, status="error"), mandatory=True)
        c.basic_ack(method.delivery_tag)

    ch.basic_consume(q, on_command)
    print(json.dumps({"ready": True}), flush=True)
    wait_for(conn, lambda: len(seen) >= count, 30)
    ch.queue_delete(q)
    conn.close()
    print(json.dumps({"seen": seen}))


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3])
    else:
        responder(sys.argv[2], sys.argv[3], int(sys.argv[4]))
