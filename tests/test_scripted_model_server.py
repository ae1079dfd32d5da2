"""The scripted model server, through the real openai client and LiteLLM on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import math
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from devtools.scripted_model import (
    FAULTS,
    PRESET_NAMES,
    ScriptedModelServer,
    ScriptError,
    UnsafeHost,
    load_script,
    parse_script,
)
from engine.errors import BadInput
from engine.refactor.prompts import (
    AnswerRejected,
    parse_answer,
    render_work_item,
    work_item_files,
)
from engine.validate.quality import scan_text
from tests.conftest import EXAMPLES, ROOT
from tests.test_refactor_prompts import BOARD, TARGET
from tests.test_refactor_prompts import ITEM as PROMPT_ITEM

SCRIPTS = EXAMPLES / "model_scripts"
BOARD_TEXT = (EXAMPLES / "STAGING" / "unsafe-cases" / "src" / "board.ts").read_text()
ALLOWED = [BOARD, TARGET.entrypoint_path]
USER = [{"role": "user", "content": "hi"}]


def client(srv: ScriptedModelServer, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=srv.base_url, api_key="sk-test", **options)


def ask(srv: ScriptedModelServer, text: str, **options: Any) -> Any:
    return client(srv).chat.completions.create(
        model="m", messages=[{"role": "user", "content": text}], **options
    )


@pytest.fixture(scope="module")
def litellm() -> Any:
    """LiteLLM, imported once for the module (it takes seconds)."""
    import litellm as module

    module.suppress_debug_info = True
    return module


def llm(litellm: Any, srv: ScriptedModelServer, text: str, **options: Any) -> Any:
    options.setdefault("max_retries", 0)
    return litellm.completion(
        model="openai/scripted",
        api_base=srv.base_url,
        api_key="sk-test",
        messages=[{"role": "user", "content": text}],
        **options,
    )


# --------------------------------------------------------------------------- script loading


def test_example_scripts_load_and_adversarial_shows_every_mode() -> None:
    codex = load_script(SCRIPTS / "codex-d1-refactor.yaml")
    assert codex.turns[0].line == 10
    adversarial = load_script(SCRIPTS / "adversarial.yaml")
    assert {t.preset for t in adversarial.turns} - {None} == set(PRESET_NAMES)
    assert {t.fault for t in adversarial.turns} - {None} == set(FAULTS)
    assert all(t.limit is None for t in adversarial.turns)


def test_times_defaults_to_once_and_delegation_loop_to_unlimited() -> None:
    script = parse_script(
        "- content: a\n- content: b\n  times: 3\n- content: c\n  times: unlimited\n"
        "- preset: delegation_loop\n- preset: delegation_loop\n  times: 2\n"
    )
    assert [t.limit for t in script.turns] == [1, 3, None, None, 2]
    assert [t.line for t in script.turns] == [1, 2, 4, 6, 7]
    assert script.label(1) == "turn 2 (line 2)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- content: [unclosed\n", "malformed YAML at line 2"),
        ("- content: hi\n- fault: explode\n", "turn 2 (line 2): fault: unknown fault 'explode'"),
        ("- regex: 'a('\n  content: x\n", "turn 1 (line 1): regex 'a(' does not compile"),
        ("- content: x\n  regexp: y\n", "turn 1 (line 1): regexp: unknown key"),
        ("- preset: lazy\n", "unknown preset 'lazy' (known: lazy_placeholder_batch"),
        (
            "- preset: delegation_loop\n  params: {who: x}\n",
            "preset 'delegation_loop' params: who: Extra inputs are not permitted",
        ),
        ("- fault: rate_limit\n  content: x\n", "a rate_limit fault sends no content"),
        ("- fault: stall\n", "a stall needs seconds"),
        ("- content: x\n  seconds: 2\n", "seconds goes with fault: stall"),
        ("- content: x\n  times: 0\n", "times must be at least 1"),
        ("- content: x\n  times: sometimes\n", "turn 1 (line 1): times:"),
        ("- name: nothing\n", "a turn needs content, tool_calls, a preset or a fault"),
        ("- content: x\n  preset: malformed_tool_call\n", "a preset or content/tool_calls"),
        ("- content: x\n  params: {a: 1}\n", "params only go with a preset"),
        ("- role: robot\n  content: x\n", "turn 1 (line 1): role:"),
        ("hello\n", "a list of turns or a mapping with 'turns' (to load a file, pass a Path)"),
        ("turns: []\nmodel: x\n", "unknown top-level key 'model'"),
    ],
)
def test_bad_scripts_are_one_line_errors(text: str, expected: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(text, source="s.yaml")
    assert expected in caught.value.message
    assert caught.value.message.startswith("s.yaml")
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == 2


def test_missing_script_file_is_a_script_error(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="cannot read the script"):
        load_script(tmp_path / "nope.yaml")


# --------------------------------------------------------------------------- openai client


def test_reply_carries_content_usage_and_the_model_name(model_server: Any) -> None:
    srv = model_server([{"content": "hello there"}, {"content": "again", "served_model": "real-1"}])
    first = ask(srv, "hi")
    assert first.choices[0].message.content == "hello there"
    assert first.choices[0].finish_reason == "stop"
    assert first.model == "m"
    assert first.usage is not None
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens > 0
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    assert ask(srv, "hi").model == "real-1"


def test_usage_override_is_reported(model_server: Any) -> None:
    srv = model_server([{"content": "x", "usage": {"prompt_tokens": 1000, "completion_tokens": 7}}])
    usage = ask(srv, "hi").usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1000, 7, 1007)


def test_turns_match_on_agent_role_model_and_regex(model_server: Any) -> None:
    srv = model_server(
        [
            {"agent": "Codex", "content": "codex", "times": "unlimited"},
            {"role": "tool", "content": "after tool", "times": "unlimited"},
            {"model": "big", "content": "big model", "times": "unlimited"},
            {"regex": r"(?i)^plan\b", "content": "planned", "times": "unlimited"},
        ]
    )
    api = client(srv)

    def answer(messages: list[dict[str, Any]], model: str = "m", **options: Any) -> str | None:
        reply = api.chat.completions.create(model=model, messages=messages, **options)
        return reply.choices[0].message.content

    by_header = answer(USER, extra_headers={"X-Vibehq-Agent": "codex"})
    by_system = answer([{"role": "system", "content": "You are Codex. Refactor."}, *USER])
    assert by_header == by_system == "codex"
    # The header is the authority: an Auto request whose prompt mentions Codex is not Codex's.
    mention = [{"role": "system", "content": "You are Auto; Codex reports to you."}, *USER]
    with pytest.raises(openai.NotFoundError):
        answer(mention, extra_headers={"X-Vibehq-Agent": "Auto"})
    with pytest.raises(openai.NotFoundError):
        answer([{"role": "system", "content": "You are Codexer."}, *USER])
    tool_result = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    assert answer(tool_result) == "after tool"
    assert answer(USER, model="big") == "big model"
    assert answer([{"role": "user", "content": "Plan the epic"}]) == "planned"
    assert [r.turn for r in srv.completions] == [1, 1, None, None, 2, 3, 4]


def test_first_matching_unused_turn_wins_and_times_run_out(model_server: Any) -> None:
    srv = model_server(
        [
            {"name": "first", "regex": "go", "content": "one"},
            {"name": "twice", "regex": "go", "content": "two", "times": 2},
            {"regex": "other", "content": "other", "name": "other"},
        ]
    )
    assert [ask(srv, "go").choices[0].message.content for _ in range(3)] == ["one", "two", "two"]
    assert srv.unused_turns() == ["turn 3 'other': used 0 of 1"]
    with pytest.raises(openai.NotFoundError) as caught:
        ask(srv, "go now")
    message = caught.value.message
    assert "model 'm', last message (user): 'go now'" in message
    assert "turn 1 matches but was used 1 of 1 times" in message
    assert "turn 2 matches but was used 2 of 2 times" in message
    assert srv.requests[0].turn_label == "turn 1 'first'"
    assert srv.turn_uses() == [1, 2, 0]
    assert srv.requests[-1].outcome == "unmatched"
    assert srv.requests[-1].status == 404


def test_concurrent_requests_never_share_one_use_of_a_turn(model_server: Any) -> None:
    srv = model_server([{"content": "ok", "times": 5}])
    api = client(srv)

    def call(_: int) -> str:
        try:
            api.chat.completions.create(model="m", messages=USER)
        except openai.NotFoundError:
            return "unmatched"
        return "ok"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = sorted(pool.map(call, range(8)))
    assert results == ["ok"] * 5 + ["unmatched"] * 3
    assert sorted(r.seq for r in srv.requests) == list(range(1, 9))


def test_a_fault_on_a_streamed_request_raises_before_any_chunk(model_server: Any) -> None:
    srv = model_server([{"fault": "rate_limit", "retry_after": 0}])
    with pytest.raises(openai.RateLimitError):
        client(srv).chat.completions.create(model="m", messages=USER, stream=True)
    assert srv.requests[0].stream is True


def test_unmatched_request_gets_an_error_never_an_answer(model_server: Any) -> None:
    srv = model_server([{"regex": "^only this$", "content": "x"}])
    with pytest.raises(openai.NotFoundError, match="no turn's conditions hold"):
        ask(srv, "something else")
    assert srv.requests[0].turn is None
    assert srv.requests[0].error is not None


def test_tool_calls_send_objects_as_json_and_strings_as_they_are(model_server: Any) -> None:
    srv = model_server(
        [
            {
                "tool_calls": [
                    {"name": "read_file", "arguments": {"path": "a.ts"}, "id": "call_a"},
                    {"name": "write_file", "arguments": '{"path": "b.ts", "text": '},
                ]
            }
        ]
    )
    message = ask(srv, "hi").choices[0]
    assert message.finish_reason == "tool_calls"
    calls = message.message.tool_calls
    assert [(c.id, c.function.name) for c in calls] == [
        ("call_a", "read_file"),
        ("call_1_1", "write_file"),
    ]
    assert json.loads(calls[0].function.arguments) == {"path": "a.ts"}
    assert calls[1].function.arguments == '{"path": "b.ts", "text": '
    assert message.message.content is None


def _stream(api: openai.OpenAI, **options: Any) -> tuple[str, dict[int, dict[str, str]], Any]:
    content = ""
    calls: dict[int, dict[str, str]] = {}
    usage = None
    stream = api.chat.completions.create(model="m", messages=USER, stream=True, **options)
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            content += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] += call.id or ""
                slot["name"] += (call.function and call.function.name) or ""
                slot["arguments"] += (call.function and call.function.arguments) or ""
    return content, calls, usage


def test_streaming_reassembles_to_the_same_content_and_tool_calls(model_server: Any) -> None:
    text = "Here is   the plan:\n\n1. move the worker\n2. rewrite its imports  "
    arguments = {"orderId": "o-1", "patches": [{"op": "append", "file": "a.ts", "block": "x"}]}
    turn = {
        "content": text,
        "tool_calls": [
            {"name": "submit_patch_batch", "arguments": arguments},
            {"name": "broken", "arguments": "{not json"},
        ],
        "times": 2,
    }
    srv = model_server([turn])
    api = client(srv)
    plain = api.chat.completions.create(model="m", messages=USER)
    content, calls, usage = _stream(api, stream_options={"include_usage": True})
    assert content == plain.choices[0].message.content == text
    assert [calls[i] for i in sorted(calls)] == [
        {"id": "call_2_0", "name": "submit_patch_batch", "arguments": json.dumps(arguments)},
        {"id": "call_2_1", "name": "broken", "arguments": "{not json"},
    ]
    assert usage is not None and usage.total_tokens == plain.usage.total_tokens
    assert srv.completions[1].stream is True


def test_stream_without_include_usage_has_no_usage_chunk(model_server: Any) -> None:
    srv = model_server([{"content": "a b c"}])
    content, calls, usage = _stream(client(srv))
    assert (content, calls, usage) == ("a b c", {}, None)


def test_rate_limit_is_a_429_with_retry_after(model_server: Any) -> None:
    srv = model_server([{"fault": "rate_limit", "retry_after": 2.5}, {"content": "ok"}])
    with pytest.raises(openai.RateLimitError) as caught:
        ask(srv, "hi")
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.response.headers["retry-after-ms"] == "2500"
    assert srv.requests[0].outcome == "rate_limit"


def test_client_retry_honours_retry_after_and_gets_the_answer(model_server: Any) -> None:
    srv = model_server([{"fault": "rate_limit", "retry_after": 0.01}, {"content": "ok"}])
    reply = client(srv, max_retries=1).chat.completions.create(model="m", messages=USER)
    assert reply.choices[0].message.content == "ok"
    assert [r.status for r in srv.requests] == [429, 200]


def test_server_error_is_a_500_or_the_given_status(model_server: Any) -> None:
    srv = model_server([{"fault": "server_error"}, {"fault": "server_error", "status": 503}])
    with pytest.raises(openai.InternalServerError) as first:
        ask(srv, "hi")
    with pytest.raises(openai.InternalServerError) as second:
        ask(srv, "hi")
    assert (first.value.status_code, second.value.status_code) == (500, 503)


def test_stall_past_the_timeout_raises_and_is_recorded(model_server: Any) -> None:
    srv = model_server([{"fault": "stall", "seconds": 30, "content": "late"}])
    with pytest.raises(openai.APITimeoutError):
        client(srv, timeout=0.3).chat.completions.create(model="m", messages=USER)
    assert [(r.outcome, r.turn) for r in srv.requests] == [("stall", 1)]
    # stop() ends the stall instead of waiting it out (the fixture would hang otherwise).
    srv.stop()


def test_short_stall_then_the_reply_or_a_504(model_server: Any) -> None:
    srv = model_server(
        [
            {"fault": "stall", "seconds": 0.05, "content": "slow but here"},
            {"fault": "stall", "seconds": 0.05},
        ]
    )
    assert ask(srv, "hi").choices[0].message.content == "slow but here"
    with pytest.raises(openai.InternalServerError, match=r"stalled 0\.05 s") as caught:
        ask(srv, "hi")
    assert caught.value.status_code == 504


def test_models_and_embeddings(model_server: Any) -> None:
    srv = model_server({"models": ["small", "large"], "turns": []})
    api = client(srv)
    assert [m.id for m in api.models.list()] == ["small", "large"]
    assert api.models.retrieve("large").id == "large"
    with pytest.raises(openai.NotFoundError):
        api.models.retrieve("medium")
    # The openai client asks for base64 and decodes it; floats come back for other callers.
    texts = ["move the logger worker", "move the logger worker now", "quarterly revenue report"]
    vectors = [d.embedding for d in api.embeddings.create(model="e", input=texts).data]
    again = api.embeddings.create(model="e", input=texts[0], encoding_format="float")
    assert len(vectors[0]) == 64
    assert again.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0, rel_tol=1e-5)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    sized = api.embeddings.create(model="e", input=[[1, 2, 3]], dimensions=8)
    assert len(sized.data[0].embedding) == 8
    with pytest.raises(openai.BadRequestError, match="dimensions"):
        api.embeddings.create(model="e", input="x", dimensions=0)
    assert [r.outcome for r in srv.requests] == [
        "models",
        "models",
        "bad_request",
        "embeddings",
        "embeddings",
        "embeddings",
        "bad_request",
    ]


def _post(url: str, data: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_bad_requests_get_openai_shaped_errors(model_server: Any) -> None:
    srv = model_server([{"content": "x"}])
    status, body = _post(srv.base_url + "/chat/completions", b"{not json")
    assert status == 400 and "not JSON" in body["error"]["message"]
    status, body = _post(srv.base_url + "/chat/completions", b'{"model": "m", "messages": []}')
    assert (status, body["error"]["code"]) == (400, "missing_messages")
    status, body = _post(srv.base_url + "/completions", b"{}")
    assert (status, body["error"]["code"]) == (404, "unknown_endpoint")
    # The path without /v1 is served too.
    status, body = _post(
        srv.url + "/chat/completions", json.dumps({"model": "m", "messages": USER}).encode()
    )
    assert status == 200 and body["choices"][0]["message"]["content"] == "x"
    assert srv.requests[0].body == "{not json"


def test_chunked_bodies_and_keep_alive_after_an_error(model_server: Any) -> None:
    srv = model_server([{"content": "chunked ok"}])
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request("POST", "/v1/nothing", body=b'{"a": 1}', headers={"Content-Type": "x"})
        first = conn.getresponse()
        assert (first.status, json.loads(first.read())["error"]["code"]) == (
            404,
            "unknown_endpoint",
        )
        payload = json.dumps({"model": "m", "messages": USER}).encode()
        parts = iter([payload[:10], payload[10:]])
        conn.request("POST", "/v1/chat/completions", body=parts, encode_chunked=True)
        second = conn.getresponse()
        assert second.status == 200
        assert json.loads(second.read())["choices"][0]["message"]["content"] == "chunked ok"
    finally:
        conn.close()
    assert srv.requests[1].body["messages"] == USER


def test_requests_are_recorded_in_memory_and_in_the_jsonl_log(
    model_server: Any, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "requests.jsonl"
    srv = model_server([{"content": "x", "times": 2}], log=log)
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": {}}}]
    client(srv).chat.completions.create(
        model="m", messages=USER, tools=tools, extra_headers={"X-Vibehq-Agent": "Auto"}
    )
    ask(srv, "second")
    first, second = srv.requests
    assert (first.seq, second.seq) == (1, 2)
    assert first.agent == "Auto" and first.model == "m"
    assert first.tools == ["read_file"]
    assert first.headers["authorization"] == "<redacted>"
    assert first.headers["x-vibehq-agent"] == "Auto"
    assert second.last_message == {"role": "user", "content": "second"}
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["seq"], line["turn"], line["status"]) for line in lines] == [
        (1, 1, 200),
        (2, 1, 200),
    ]
    assert lines[0]["body"]["messages"] == USER
    assert "sk-test" not in log.read_text()


def test_server_refuses_non_loopback_hosts_and_busy_ports() -> None:
    with pytest.raises(UnsafeHost, match=r"0\.0\.0\.0"):
        ScriptedModelServer([{"content": "x"}], host="0.0.0.0")
    with pytest.raises(UnsafeHost):
        ScriptedModelServer([{"content": "x"}], host="example.com")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(BadInput, match=f"cannot listen on 127.0.0.1:{port}"):
            ScriptedModelServer([{"content": "x"}], port=port).start()


def test_server_accepts_a_script_file_and_stops_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- content: from a file\n")
    with ScriptedModelServer(path) as srv:
        assert ask(srv, "hi").choices[0].message.content == "from a file"
        port = srv.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port)).close()
    with ScriptedModelServer("- content: same port\n", port=port) as again:
        assert ask(again, "hi").choices[0].message.content == "same port"


# --------------------------------------------------------------------------- presets


def _answer(srv: ScriptedModelServer, text: str) -> str:
    content = ask(srv, text).choices[0].message.content
    assert content is not None
    return content


def test_codex_example_answers_the_real_work_item_with_a_valid_batch(model_server: Any) -> None:
    # The prompt tests' work item, under the id the pipeline gives it (the script matches it).
    item = PROMPT_ITEM.model_copy(
        update={"id": "apps/unsafe-cases:apps/unsafe-cases/src/board.ts:16"}
    )
    prompt = render_work_item(item, target=TARGET, methods=[], conventions="")
    srv = model_server(SCRIPTS / "codex-d1-refactor.yaml")
    reply = client(srv).chat.completions.create(
        model="codex-scripted", messages=[{"role": "user", "content": prompt}]
    )
    assert reply.model == "codex-scripted"
    batch = parse_answer(
        reply.choices[0].message.content or "", allowed_files=work_item_files(item, TARGET)
    )
    assert batch.order_id is not None and batch.order_id in prompt
    assert [p.op for p in batch.patches] == ["insert-after", "replace-block", "replace-block"]
    assert all(p.match is not None and p.match in BOARD_TEXT for p in batch.patches)


def test_lazy_placeholder_batch_is_caught_by_the_quality_monitor(model_server: Any) -> None:
    srv = model_server([{"preset": "lazy_placeholder_batch"}])
    batch = parse_answer(_answer(srv, "refactor"), allowed_files=ALLOWED)
    patch = batch.patches[0]
    assert patch.match is not None and patch.block is not None
    assert "// ... rest of code unchanged" in patch.block
    changed = BOARD_TEXT.replace(patch.match, patch.block)
    kinds = {v.kind for v in scan_text(changed, BOARD, original=BOARD_TEXT)}
    assert "PLACEHOLDER_DROPPED" in kinds


def test_syntax_breaking_batch_is_caught_by_the_quality_monitor(model_server: Any) -> None:
    srv = model_server([{"preset": "syntax_breaking_batch"}])
    patch = parse_answer(_answer(srv, "refactor"), allowed_files=ALLOWED).patches[0]
    assert patch.match is not None and patch.block is not None
    changed = BOARD_TEXT.replace(patch.match, patch.block)
    assert "MALFORMED_SYNTAX" in {v.kind for v in scan_text(changed, BOARD, original=BOARD_TEXT)}


@pytest.mark.parametrize(
    ("preset", "params", "expected"),
    [
        ("outside_allowed_batch", {}, "'orchestrator/worker/index.ts' is not a file this task"),
        ("outside_allowed_batch", {"outside": "wrangler.jsonc"}, "'wrangler.jsonc' is not a file"),
        ("path_traversal_batch", {}, "'../../etc/passwd' leaves its folder"),
        ("path_traversal_batch", {"path": "/etc/passwd"}, "'/etc/passwd'"),
    ],
)
def test_out_of_bounds_batches_are_refused_by_parse_answer(
    model_server: Any, preset: str, params: dict[str, str], expected: str
) -> None:
    srv = model_server([{"preset": preset, "params": params}])
    with pytest.raises(AnswerRejected) as caught:
        parse_answer(_answer(srv, "refactor"), allowed_files=ALLOWED)
    assert any(expected in error for error in caught.value.errors)


def test_batch_presets_can_arrive_as_tool_calls(model_server: Any) -> None:
    srv = model_server(
        [{"preset": "path_traversal_batch", "params": {"deliver": "tool_call", "tool": "apply"}}]
    )
    call = ask(srv, "refactor").choices[0].message.tool_calls[0]
    assert call.function.name == "apply"
    assert json.loads(call.function.arguments)["patches"][0]["file"] == "../../etc/passwd"


def test_malformed_tool_call_reaches_the_client_as_a_raw_string(model_server: Any) -> None:
    srv = model_server([{"preset": "malformed_tool_call"}])
    call = ask(srv, "refactor").choices[0].message.tool_calls[0]
    assert call.function.name == "submit_patch_batch"
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)


def test_delegation_loop_delegates_to_the_same_coworker_forever(model_server: Any) -> None:
    srv = model_server(
        [
            {"preset": "delegation_loop", "agent": "Auto", "params": {"coworker": "Codex"}},
            {"preset": "delegation_loop", "agent": "Codex", "params": {"style": "react"}},
        ]
    )
    api = client(srv)
    auto = [{"role": "system", "content": "You are Auto, the architect."}, *USER]
    coworkers = []
    for _ in range(6):
        reply = api.chat.completions.create(model="m", messages=auto)
        call = reply.choices[0].message.tool_calls[0]
        assert call.function.name == "delegate_work_to_coworker"
        coworkers.append(json.loads(call.function.arguments)["coworker"])
    assert coworkers == ["Codex"] * 6
    react = api.chat.completions.create(
        model="m", messages=USER, extra_headers={"X-Vibehq-Agent": "Codex"}
    )
    assert "Action: Delegate work to coworker" in (react.choices[0].message.content or "")
    assert srv.unused_turns() == []


# --------------------------------------------------------------------------- LiteLLM


def test_litellm_completion_reads_content_usage_and_served_model(
    litellm: Any, model_server: Any
) -> None:
    srv = model_server([{"agent": "Codex", "content": "done", "served_model": "gpt-scripted-2"}])
    reply = llm(litellm, srv, "hi", extra_headers={"X-Vibehq-Agent": "Codex"})
    assert reply.choices[0].message.content == "done"
    assert reply.model == "gpt-scripted-2"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    assert srv.requests[0].model == "scripted"
    assert srv.requests[0].agent == "Codex"


def test_litellm_sees_each_fault_as_its_typed_error(litellm: Any, model_server: Any) -> None:
    srv = model_server(
        [
            {"name": "rate-limit", "regex": "limit", "fault": "rate_limit", "retry_after": 1},
            {"name": "rate-limit-500", "regex": "boom", "fault": "server_error"},
            {"regex": "slow", "fault": "stall", "seconds": 30, "content": "late"},
        ]
    )
    with pytest.raises(litellm.RateLimitError):
        llm(litellm, srv, "limit")
    with pytest.raises(litellm.InternalServerError):
        llm(litellm, srv, "boom")
    with pytest.raises(litellm.Timeout):
        llm(litellm, srv, "slow", timeout=0.3)
    with pytest.raises(litellm.NotFoundError, match="no script turn answers"):
        llm(litellm, srv, "anything")
    # LiteLLM reads "rate limit" anywhere in an error as a 429; turn names stay out of errors.
    with pytest.raises(litellm.NotFoundError, match="turn 1 matches but was used 1 of 1"):
        llm(litellm, srv, "limit")
    outcomes = [r.outcome for r in srv.requests]
    assert outcomes == ["rate_limit", "server_error", "stall", "unmatched", "unmatched"]
    srv.stop()


def test_litellm_gets_malformed_tool_json_as_a_raw_string(litellm: Any, model_server: Any) -> None:
    srv = model_server(
        [{"preset": "malformed_tool_call", "params": {"arguments": "{'single': quotes}"}}]
    )
    call = llm(litellm, srv, "go").choices[0].message.tool_calls[0]
    assert call.function.name == "submit_patch_batch"
    assert call.function.arguments == "{'single': quotes}"


def test_litellm_stream_rebuilds_the_same_content_and_tool_calls(
    litellm: Any, model_server: Any
) -> None:
    turn = {
        "content": "Applying the batch now.",
        "tool_calls": [
            {"name": "submit_patch_batch", "arguments": {"orderId": "o", "patches": []}}
        ],
        "times": 2,
    }
    srv = model_server([turn])
    plain = llm(litellm, srv, "go")
    chunks = list(llm(litellm, srv, "go", stream=True, stream_options={"include_usage": True}))
    rebuilt = litellm.stream_chunk_builder(chunks)
    for reply in (plain, rebuilt):
        message = reply.choices[0].message
        assert message.content == "Applying the batch now."
        assert [
            (c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls
        ] == [("submit_patch_batch", {"orderId": "o", "patches": []})]
    assert rebuilt.usage.total_tokens == plain.usage.total_tokens


def test_litellm_embedding(litellm: Any, model_server: Any) -> None:
    srv = model_server([])
    result = litellm.embedding(
        model="openai/e", api_base=srv.base_url, api_key="sk-test", input=["a b", "c d"]
    )
    assert [len(item["embedding"]) for item in result.data] == [64, 64]


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- content: [x\n", "malformed YAML"),
        ("- fault: explode\n", "unknown fault 'explode'"),
        ("- regex: '(('\n  content: x\n", "does not compile"),
        ("- preset: nope\n", "unknown preset 'nope'"),
    ],
)
def test_cli_refuses_bad_scripts(cli: Any, tmp_path: Path, text: str, expected: str) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(text)
    result = cli("dev", "model-server", "--script", script, "--port", "0")
    assert result.code == 2
    assert expected in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_cli_refuses_missing_scripts_remote_hosts_and_busy_ports(cli: Any, tmp_path: Path) -> None:
    missing = cli("dev", "model-server", "--script", tmp_path / "none.yaml")
    assert missing.code == 2 and "cannot read the script" in missing.err
    script = tmp_path / "ok.yaml"
    script.write_text("- content: x\n")
    remote = cli("dev", "model-server", "--script", script, "--host", "0.0.0.0")
    assert remote.code == 2 and "only binds a loopback address" in remote.err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = cli("dev", "model-server", "--script", script, "--port", str(port))
    assert taken.code == 2 and f"cannot listen on 127.0.0.1:{port}" in taken.err
    assert len(taken.err.strip().splitlines()) == 1


def test_cli_serves_a_script_until_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import main; main.run()",
            "dev",
            "model-server",
            "--script",
            str(SCRIPTS / "codex-d1-refactor.yaml"),
            "--port",
            "0",
            "--log",
            str(log),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("scripted model server on http://127.0.0.1:"), banner
        base_url = banner.split()[4]
        api = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
        assert [m.id for m in api.models.list()] == ["codex-scripted"]
        with pytest.raises(openai.NotFoundError):
            api.chat.completions.create(model="codex-scripted", messages=USER)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "#2 POST /v1/chat/completions model=codex-scripted: 404 unmatched" in out
    assert "stopped after 2 request(s)" in out
    assert [json.loads(line)["outcome"] for line in log.read_text().splitlines()] == [
        "models",
        "unmatched",
    ]
