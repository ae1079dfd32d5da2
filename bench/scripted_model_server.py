"""Benchmark: the scripted model server through the real openai client on 127.0.0.1.
Requests per second and median latency for plain and streamed replies (a 2 KB answer with a
tool call), with a 200-turn script so matching walks a realistic list. Tests lean on it, so
it should answer in about a millisecond.

    uv run python bench/scripted_model_server.py [--requests 500]
"""

from __future__ import annotations

import argparse
import statistics
import time

import openai

from devtools.scripted_model import ScriptedModelServer


def measure(api: openai.OpenAI, count: int, *, stream: bool) -> tuple[float, float]:
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        messages = [{"role": "user", "content": f"request {i}: answer #hit"}]
        if stream:
            stream_chunks = api.chat.completions.create(model="m", messages=messages, stream=True)
            assert sum(1 for _ in stream_chunks) > 1
        else:
            api.chat.completions.create(model="m", messages=messages)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return count / elapsed, statistics.median(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    misses = [{"regex": f"never-{i}$", "content": "x"} for i in range(199)]
    hit = {
        "regex": "#hit",
        "times": "unlimited",
        "content": "word " * 400,
        "tool_calls": [{"name": "submit", "arguments": {"patches": [{"op": "append"}] * 20}}],
    }
    with ScriptedModelServer([*misses, hit]) as srv:
        api = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": "#hit"}])
        for stream in (False, True):
            rate, median_ms = measure(api, args.requests, stream=stream)
            kind = "streamed" if stream else "plain"
            print(f"{kind:>8}: {rate:7.0f} requests/s, median {median_ms:.2f} ms")


if __name__ == "__main__":
    main()
