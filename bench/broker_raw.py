"""Raw RabbitMQ rate on this machine: persistent ~1 KB JSON messages, publisher confirms (windowed,
asynchronous), a consumer with manual acks — end to end, from first publish to last ack.

    python bench/broker_raw.py [--n 20000] [--amqp amqp://guest:guest@127.0.0.1:5672/]

Prints ``BENCH broker_raw_msgs_per_s <rate> msg/s``. ``measure_raw`` is imported by the other
benchmarks so that ratios are measured in the same run by the same code.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from urllib.parse import unquote, urlparse

import amqp


def _connect(amqp_uri: str) -> amqp.Connection:
    url = urlparse(amqp_uri)
    vhost = unquote(url.path[1:]) if url.path and url.path != "/" else "/"
    conn = amqp.Connection(host=f"{url.hostname or '127.0.0.1'}:{url.port or 5672}", userid=url.username or "guest",
                           password=url.password or "guest", virtual_host=vhost)
    conn.connect()
    return conn


def payload(i: int) -> bytes:
    body = {"event_id": str(uuid.uuid4()), "event_type": "bench.raw", "seq": i, "pad": "x" * 900}
    return json.dumps(body).encode()


def measure_raw(amqp_uri: str, n: int = 20000, window: int = 1000, arguments: dict | None = None) -> float:
    """Messages per second end to end (persistent, confirmed, manually acked), through a fresh queue
    declared with ``arguments`` (``{"x-queue-type": "quorum"}``: a quorum queue; default classic)."""
    queue = f"bench.raw.{uuid.uuid4().hex[:8]}"
    setup = _connect(amqp_uri)
    ch = setup.channel()
    ch.queue_declare(queue, durable=True, auto_delete=False, arguments=arguments or {})
    consumed = threading.Event()
    done_at = [0.0]

    def consume():
        conn = _connect(amqp_uri)
        cch = conn.channel()
        cch.basic_qos(0, 500, False)
        count = [0]

        def on_message(message):
            count[0] += 1
            if count[0] % 100 == 0 or count[0] == n:
                cch.basic_ack(message.delivery_tag, multiple=True)
            if count[0] == n:
                done_at[0] = time.perf_counter()
                consumed.set()

        cch.basic_consume(queue, callback=on_message)
        while not consumed.is_set():
            try:
                conn.drain_events(timeout=1)
            except TimeoutError:
                pass
        conn.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    time.sleep(0.3)
    pconn = _connect(amqp_uri)
    pch = pconn.channel()
    pch.confirm_select()
    confirmed = [0]

    def on_ack(delivery_tag, multiple):
        confirmed[0] = max(confirmed[0], delivery_tag)

    pch.events["basic_ack"].add(on_ack)
    start = time.perf_counter()
    for i in range(1, n + 1):
        pch.basic_publish(amqp.Message(payload(i), delivery_mode=2, content_type="application/json"),
                          exchange="", routing_key=queue)
        while i - confirmed[0] >= window:
            pconn.drain_events(timeout=5)
    while confirmed[0] < n:
        pconn.drain_events(timeout=5)
    consumed.wait(120)
    elapsed = done_at[0] - start
    pconn.close()
    ch.queue_delete(queue)
    setup.close()
    return n / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args(argv)
    print(f"BENCH broker_raw_msgs_per_s {measure_raw(args.amqp, args.n):.0f} msg/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
