"""Property-based tests: whatever the service answers, the client raises only its typed errors; whatever
a person types, the validators answer with InvalidRequestError naming a field, and nothing is sent.

Replies are generated (a transport that answers with them stands in for the service, because these
are replies no well-behaved server sends); every run tries several hundred of each.
"""

from __future__ import annotations

import json
import math

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grsai_api import MODELS, Client, GrsaiError, InvalidRequestError, Task, image_request, video_request
from grsai_api._base import parse_retry_after

KEY = "sk-property-0123456789"
MANY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["succeeded", "failed", "violation", "running", "-22", "1e999", "NaN", KEY]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20,
)
task_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "status": json_values,
        "progress": json_values,
        "results": json_values,
        "url": json_values,
        "failure_reason": json_values,
        "error": json_values,
    },
)
envelopes = st.one_of(
    json_values,
    task_like,
    st.fixed_dictionaries({"code": json_values, "msg": json_values, "data": st.one_of(json_values, task_like)}),
)


def _render(body: object) -> str:
    return json.dumps(body, allow_nan=True)


bodies = st.one_of(
    envelopes.map(_render),
    envelopes.map(lambda b: "data: " + _render(b)),
    st.text(max_size=200),
    st.just("[" * 5000 + "]" * 5000),  # nested very deep
    st.just('{"code": 0, "data": {"progress": 1e999, "status": "running"}}'),
)
statuses = st.sampled_from([200, 200, 200, 201, 400, 401, 402, 403, 404, 408, 409, 422, 429, 500, 502, 503])
retry_after = st.one_of(
    st.none(), st.text(max_size=40), st.sampled_from(["Wed, 21 Oct 2015 07:28:00 -0000", "1e999", "-5", "nan"])
)


def client_answering(status: int, body: str, retry: str | None) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"content-type": "application/json"}
        if retry is not None:
            headers["retry-after"] = retry.encode("ascii", "replace").decode()
        return httpx.Response(status, text=body, headers=headers)

    client = Client(api_key=KEY, base_url="https://grsai.test", transport=httpx.MockTransport(answer), max_retries=1)
    client._sleep = lambda seconds: None
    return client, seen


CALLS = {
    "create_video": lambda c: c.create_video(prompt="a kite", model="veo3.1-fast"),
    "create_image": lambda c: c.create_image(prompt="a kite", model="gpt-image-2", variants=2),
    "get_result": lambda c: c.get_result("task-1"),
    "get_unified_result": lambda c: c.get_result("task-1", model="minimax-h3"),
    "credits": lambda c: c.credits(),
    "model_status": lambda c: c.model_status("sora-2"),
    "upload_file": lambda c: c.upload_file(b"\x89PNG\r\n\x1a\n0000", "png"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@MANY
@given(status=statuses, body=bodies, retry=retry_after)
def test_any_reply_gives_a_result_or_a_typed_error(call, status, body, retry):
    client, _ = client_answering(status, body, retry)
    with client:
        try:
            result = CALLS[call](client)
        except GrsaiError as exc:
            assert KEY not in str(exc)  # the key is never in a message, even when a reply echoes it
            return
    if isinstance(result, Task):
        assert 0 <= result.progress <= 100 and result.status in ("running", "succeeded", "failed")
    elif call == "credits":
        assert math.isfinite(result)


@MANY
@given(lines=st.lists(st.one_of(bodies, st.just(""), st.just(": keep-alive"), st.just("data: [DONE]")), max_size=6))
def test_any_stream_gives_tasks_or_a_typed_error(lines):
    payload = "\n".join(lines) + "\n"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=payload, headers={"content-type": "text/event-stream"})

    with Client(api_key=KEY, base_url="https://grsai.test", transport=httpx.MockTransport(answer)) as client:
        try:
            for task in client.stream_video(prompt="a kite"):
                assert 0 <= task.progress <= 100
        except GrsaiError as exc:
            assert KEY not in str(exc)


@MANY
@given(value=retry_after)
def test_retry_after_is_a_bounded_number_or_nothing(value):
    seconds = parse_retry_after(value)
    assert seconds is None or 0 <= seconds <= 60


field_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=12),
    st.binary(max_size=40),
    st.sampled_from(["https://a.example/x.png", "file:///etc/passwd", "../secret.png", "data:image/png;base64,AAAA"]),
)
FIELDS = [
    "prompt",
    "aspect_ratio",
    "duration",
    "size",
    "image_url",
    "remix_target_id",
    "characters",
    "first_frame_url",
    "last_frame_url",
    "reference_urls",
    "resolution",
    "seed",
    "image_size",
    "variants",
]


@pytest.mark.parametrize("model", sorted(MODELS))
@settings(max_examples=200, deadline=None)
@given(params=st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=5))
def test_any_input_is_accepted_or_refused_naming_a_field_and_nothing_is_sent(model, params):
    entry = MODELS[model]
    build = video_request if entry.kind == "video" else image_request
    try:
        _, body = build(model=model, **params)
    except InvalidRequestError as exc:
        assert exc.field and exc.message
        client, seen = client_answering(200, '{"code": 0, "data": {"id": "t"}}', None)
        with client, pytest.raises(InvalidRequestError):
            create = client.create_video if entry.kind == "video" else client.create_image
            create(model=model, **{"prompt": "", **params})
        assert seen == []  # refused before anything left
        return
    assert body["model"] == model and body["prompt"].strip()


def test_a_stream_that_closes_before_its_first_update_is_unknown_not_unsent():
    """Issue 11 #17: the request went out; a stream that ends with no task must not read as 'never
    reached the service' (that would let it be sent, and charged, again)."""
    from grsai_api import StreamInterruptedError, SubmissionUnknownError

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=": keep-alive\n\n", headers={"content-type": "text/event-stream"})

    with Client(api_key=KEY, base_url="https://grsai.test", transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(SubmissionUnknownError) as raised:
            list(client.stream_video(prompt="a kite"))
    assert not isinstance(raised.value, StreamInterruptedError)
