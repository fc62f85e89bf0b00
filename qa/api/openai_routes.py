"""The OpenAI-compatible routes: ``GET /v1/models`` and ``POST /v1/chat/completions``.

The last user message is the question and the earlier user messages are the conversation,
so a follow-up is read as the chat reads it. The assistant's content is the answer with [n]
markers; beside it, ``message.citations`` (``delta.citations`` in the first chunk of a
stream) holds each extract as data: doc id, title, outlet, date, URL, start, end, text,
score. The model names choose the retrieval mode. Parameters this API has no use for
(temperature, max_tokens, tools …) are ignored; ``k`` (passages, 1-50) is read if given."""
from __future__ import annotations

import json
import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from qa.api import calls
from qa.api.citations import answer_text, citations
from qa.api.errors import ApiError
from qa.api.gate import Busy, Gate
from qa.errors import ZhqaError
from qa.text.wellformed import visible

MODELS = {"zhqa": "hybrid", "zhqa-dense": "dense", "zhqa-bm25": "bm25"}  # model name → retrieval mode
MAX_BODY = 1 << 20  # bytes of one request
CHUNK_CHARS = 40  # of the answer's text per streamed chunk
OWNER = "zhqa"


def router(qa, gate: Gate) -> APIRouter:
    api = APIRouter(prefix="/v1")

    @api.get("/models")
    async def models():
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": OWNER} for name in MODELS]}

    @api.get("/models/{name}")
    async def model(name: str):
        if name not in MODELS:
            raise _unknown_model(name)
        return {"id": name, "object": "model", "created": 0, "owned_by": OWNER}

    @api.post("/chat/completions")
    async def chat_completions(request: Request):
        body = await read_json(request)
        name, question, history, stream, k = parse_chat(body)
        try:
            answer = await gate.run(calls.ask, qa, question, history, k, MODELS[name])
        except Busy as exc:
            raise ApiError(429, str(exc), "rate_limit_error", "busy", {"retry-after": "2"}) from None
        except ZhqaError as exc:
            raise ApiError(400, str(exc)) from None
        ident, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
        content, cited = answer_text(answer), citations(answer)
        # Beside the content: whether the corpus answered, what a follow-up was read as, the extracts as data.
        extra = {"answered": answer.answered, **({"asked": answer.asked} if answer.asked and answer.asked != answer.question else {}),
                 "citations": cited}
        if not stream:
            message = {"role": "assistant", "content": content, "refusal": None, **extra}
            return JSONResponse({"id": ident, "object": "chat.completion", "created": created, "model": name,
                                 "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]})
        return StreamingResponse(sse(ident, created, name, content, extra), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})

    return api


def _unknown_model(name) -> ApiError:
    return ApiError(404, f"The model {visible(str(name))[:60]!r} does not exist; use one of {', '.join(MODELS)} (GET /v1/models).",
                    code="model_not_found")


async def read_json(request: Request):
    """The request's JSON body, refused above MAX_BODY bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, f"The request body is {int(declared):,} bytes; send at most {MAX_BODY:,}.", code="body_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY:
            raise ApiError(413, f"The request body is over {MAX_BODY:,} bytes; send at most {MAX_BODY:,}.", code="body_too_large")
    try:
        return json.loads(bytes(body))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "The request body is not valid JSON; send one JSON object (Content-Type: application/json).",
                       code="invalid_json") from None


def text_of(content, n: int) -> str:
    """A message's text: a string, or a list of text parts (their texts joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text" or not isinstance(part.get("text"), str):
                shown = visible(str(kind))[:30] if isinstance(kind, str) else type(part).__name__
                raise ApiError(400, f"Message {n} holds a part of type {shown!r}; this API reads text only.", code="content_not_text")
            texts.append(part["text"])
        return "\n".join(texts)
    raise ApiError(400, f"The content of message {n} is not text; send a string (or a list of text parts).", code="content_not_text")


def parse_chat(body) -> tuple[str, str, list[str], bool, int]:
    """(model, question, earlier questions, stream, k) of a chat completion request."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object with model and messages.")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise ApiError(400, f"Give model, one of {', '.join(MODELS)}.", code="missing_model")
    if name not in MODELS:
        raise _unknown_model(name)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages is missing or empty; send at least one message {\"role\": \"user\", \"content\": \"…\"}.",
                       code="missing_messages")
    asked = []
    for n, message in enumerate(messages, 1):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ApiError(400, f"Message {n} is not an object with a role and content.", code="invalid_message")
        if message["role"] == "user":
            asked.append(text_of(message.get("content"), n))
    if not asked:
        raise ApiError(400, "No message has the role user; the last user message is the question.", code="missing_question")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise ApiError(400, "stream must be true or false.")
    k = body.get("k", 5)
    return name, asked[-1], asked[:-1], bool(stream), k


def _event(payload) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"


async def sse(ident: str, created: int, name: str, content: str, extra: dict):
    """The answer as Server-Sent Events, as OpenAI streams a chat completion."""
    def chunk(delta, finish=None):
        return _event({"id": ident, "object": "chat.completion.chunk", "created": created, "model": name,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]})

    yield chunk({"role": "assistant", "content": "", **extra})
    for at in range(0, len(content), CHUNK_CHARS):
        yield chunk({"content": content[at:at + CHUNK_CHARS]})
    yield chunk({}, "stop")
    yield b"data: [DONE]\n\n"
