"""The decision service: an ASGI application (Starlette) around a `PolicyHolder`.

`policyc serve` runs it on uvicorn; `create_app` builds it for any ASGI server. Each request
takes the policy in force once, so its decision, the fingerprint it reports and its log record
all come from one policy, whatever reloads meanwhile. Bodies are read against a size limit before
any parsing, requests are read as the CLI reads them (`request_json`: strict JSON, no key twice)
and every failure is a JSON error naming what is wrong, never a traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from policydsl import fingerprint
from policydsl.context import ContextError
from policydsl.decision import Decision, EvaluationError
from policydsl.decision_log import DecisionLog
from policydsl.engine import Policy
from policydsl.gc_pause import freeze_policy
from policydsl.metrics import CONTENT_TYPE, Registry
from policydsl.reload import OUTCOMES, PolicyHolder, Reload
from policydsl.request_json import (
    MAX_REQUEST_BYTES,
    RequestError,
    dumps,
    json_kind,
    parse_request,
)

log = logging.getLogger("policydsl.service")

JSON_TYPE = "application/json"
# A batch is decided on the event loop, a slice at a time, other requests answered in between.
# Not in a thread: the interpreter lock lets one thread run at a time anyway, and passing it
# between the loop and a deciding thread cost a third more CPU a decision (11.1 against 7.5 us,
# 50 clients sending batches of 500: `benchmarks/load_service.py`).
BATCH_SLICE = 256
Handler = Callable[[Request], Awaitable[Response]]


class HttpError(Exception):
    """An expected failure, answered as `{"error": {"code", "message", ...}}` with `status`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra


class DecisionIds:
    """Decision ids shaped as UUIDs: 80 random bits drawn once per process (a version-4
    UUID's first 20 hex digits), then a counter. Unique across processes as a UUID4 is, and
    ten times cheaper than one per decision (no system call for randomness each time)."""

    def __init__(self) -> None:
        self.prefix = str(uuid.uuid4())[:23]  # `xxxxxxxx-xxxx-4xxx-yxxx`
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}-{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Exact, ASCII-only JSON, as the CLI writes it: safe to print, read back exactly."""
    return Response(dumps(value), status, headers, media_type=JSON_TYPE)


class Endpoint:
    """One endpoint as an ASGI app (Starlette's router calls it directly, without wrapping it
    again): authentication, the handler, its errors as JSON, its latency observed."""

    def __init__(self, service: Service, name: str, handler: Handler, auth: bool):
        self.service = service
        self.name = name
        self.handler = handler
        self.auth = auth and service.token is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        service = self.service
        request = Request(scope, receive)
        try:
            if self.auth:
                service.authorize(request)
            response = await self.handler(request)
        except HttpError as err:
            service.count(err)
            headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
            body = {"error": {"code": err.code, "message": str(err), **err.extra}}
            response = _json(body, err.status, headers)
        except ClientDisconnect:  # the client is gone: nobody to answer
            return
        except Exception:  # a bug: logged here with its traceback, never sent
            log.exception("internal error answering %s", self.name)
            body = {"error": {"code": "internal", "message": "internal error (see the log)"}}
            response = _json(body, 500)
        await response(scope, receive, send)
        service.latency.observe(time.perf_counter() - started, endpoint=self.name)


class Service:
    """The application's state: the holder, the metrics, the decision log and the options."""

    def __init__(
        self,
        holder: PolicyHolder,
        *,
        token: str | None = None,
        max_body: int = MAX_REQUEST_BYTES,
        decision_log: DecisionLog | None = None,
    ):
        self.holder = holder
        self.token = token.encode() if token else None
        self.max_body = max_body
        self.decision_log = decision_log
        self.ids = DecisionIds()
        m = self.metrics = Registry()
        self.decisions = m.counter("policydsl_decisions_total", "Decisions made, by effect.")
        self.latency = m.histogram(
            "policydsl_request_duration_seconds",
            "Time to answer a request, from its body read to its response, by endpoint.",
        )
        self.invalid = m.counter(
            "policydsl_invalid_requests_total",
            "Requests and batch inputs refused, by reason (invalid_input: the context breaks "
            "the schema; invalid_json, too_large, unauthorized, bad_request).",
        )
        self.reloads = m.counter("policydsl_reloads_total", "Policy reloads, by outcome.")
        for outcome in OUTCOMES:
            self.reloads.inc(0, outcome=outcome)
        m.gauge("policydsl_policy_info", "The policy in force (always 1).", self._policy_info)
        m.gauge(
            "policydsl_policy_loaded_timestamp_seconds",
            "When the policy in force was loaded, in seconds since the epoch.",
            lambda: [({}, holder.loaded_at)] if holder.loaded_at is not None else [],
        )
        if decision_log is not None:
            log_ = decision_log
            m.gauge(
                "policydsl_decision_log_written_total",
                "Decision-log records handed to the sink.",
                lambda: [({}, log_.written)],
                kind="counter",
            )
            m.gauge(
                "policydsl_decision_log_dropped_total",
                "Decision-log records dropped, by reason (queue_full, sink_error).",
                lambda: [({"reason": r}, n) for r, n in log_.dropped.items()],
                kind="counter",
            )
            m.gauge(
                "policydsl_decision_log_pending",
                "Decision-log records queued for the sink.",
                lambda: [({}, log_.pending)],
            )
        holder.on_reload.append(lambda r: self.reloads.inc(outcome=r.outcome))
        holder.on_reload.append(lambda r: freeze_policy() if r.outcome == "loaded" else None)

    def _policy_info(self) -> list[tuple[dict[str, str], float]]:
        policy = self.holder.current
        if policy is None:
            return []
        labels = {"version": policy.version or "", "fingerprint": policy.fingerprint}
        return [(labels, 1)]

    # ---- plumbing -----------------------------------------------------------------------------

    def endpoint(self, name: str, handler: Handler, *, auth: bool = True) -> Endpoint:
        """The handler as an ASGI app, behind authentication, the error envelope and the
        latency histogram."""
        return Endpoint(self, name, handler, auth)

    def count(self, err: HttpError) -> None:
        if err.status < 500:  # the client's fault: counted by what was wrong
            self.invalid.inc(reason=err.code)

    def authorize(self, request: Request) -> None:
        if self.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode(), self.token
        ):
            raise HttpError(401, "unauthorized", "a valid `Authorization: Bearer` token is needed")

    async def _read(self, request: Request) -> bytes:
        """The body's bytes, refused (413) as soon as they pass the limit: a declared length
        past it is never read, a chunked body is read no further than the limit."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise _too_large(self.max_body)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:  # the ASGI messages themselves: Starlette's stream() costs more than this
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > self.max_body:
                raise _too_large(self.max_body)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _body(self, request: Request, allowed: Sequence[str]) -> dict[str, Any]:
        """The JSON object of the body, read within the size limit, with only `allowed` keys."""
        data = await self._read(request)
        try:
            body = parse_request(data, self.max_body)
        except RequestError as err:
            raise HttpError(400, "invalid_json", str(err).replace("request", "body", 1)) from None
        unknown = [k for k in body if k not in allowed]
        if unknown:
            expected = ", ".join(f"`{k}`" for k in allowed)
            raise HttpError(
                400,
                "bad_request",
                f"unknown key `{unknown[0]:.60}` in the body; expected {expected}",
            )
        return body

    def _policy(self) -> Policy:
        policy = self.holder.current
        if policy is None:
            raise HttpError(503, "no_policy", "no policy is loaded yet")
        return policy

    def _decide_all(
        self, policy: Policy, contexts: list[Any], path: str
    ) -> list[dict[str, Any] | HttpError]:
        """Each context's answer, `{"result", "decision_id"}`, or the `HttpError` that refuses
        it (400 for a context that breaks the schema). The hot loop of both decide endpoints:
        effects are counted once per call, each record only queued for the log. A decision the
        policy gives again (one object for every request that ends the same way) is made a dict
        once per call, which its answers share (nothing changes them)."""
        decide = policy.decide
        next_id = self.ids.next
        log = self.decision_log
        identity = _identity(policy)
        counts: dict[str, int] = {}
        answers: list[dict[str, Any] | HttpError] = []
        # by the decision's id, the decision kept with it (alive, its id is not reused)
        shown: dict[int, tuple[Decision, dict[str, Any]]] = {}
        for context in contexts:
            try:
                decision = decide(context)
                seen = shown.get(id(decision))
                if seen is None:
                    seen = shown[id(decision)] = (decision, decision.to_dict())
                result = seen[1]
            except ContextError as err:
                attribute = err.attribute or None
                answers.append(HttpError(400, "invalid_input", str(err), attribute=attribute))
                continue
            except EvaluationError as err:
                answers.append(HttpError(500, "evaluation_failed", f"evaluation failed: {err}"))
                continue
            decision_id = next_id()
            effect = decision.decision
            counts[effect] = counts.get(effect, 0) + 1
            if log is not None:
                log.record(decision_id, context, result, identity, path=path)
            answers.append({"result": result, "decision_id": decision_id})
        for effect, count in counts.items():
            self.decisions.inc(count, effect=effect)
        return answers

    # ---- endpoints ----------------------------------------------------------------------------

    async def decide(self, request: Request) -> Response:
        body = await self._body(request, ("input",))
        if "input" not in body:
            raise HttpError(400, "bad_request", "the body needs `input`: the request context")
        policy = self._policy()
        (answer,) = self._decide_all(policy, [body["input"]], request.scope["path"])
        if isinstance(answer, HttpError):
            raise answer
        answer["policy"] = _identity(policy)
        return _json(answer)

    async def decide_batch(self, request: Request) -> Response:
        body = await self._body(request, ("inputs",))
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise HttpError(
                400,
                "bad_request",
                f"`inputs` must be an array of contexts, not {json_kind(inputs)}",
            )
        policy = self._policy()
        path = request.scope["path"]
        results = self._decide_all(policy, inputs[:BATCH_SLICE], path)
        for start in range(BATCH_SLICE, len(inputs), BATCH_SLICE):
            await asyncio.sleep(0)  # the event loop answers others between slices
            results += self._decide_all(policy, inputs[start : start + BATCH_SLICE], path)
        for index, answer in enumerate(results):
            if isinstance(answer, HttpError):  # in its place, as an error
                self.count(answer)
                error = {"code": answer.code, "message": str(answer), "index": index}
                results[index] = {"error": {**error, **answer.extra}}
        return _json({"results": results, "policy": _identity(policy)})

    async def explain(self, request: Request) -> Response:
        body = await self._body(request, ("input", "rules"))
        if "input" not in body:
            raise HttpError(400, "bad_request", "the body needs `input`: the request context")
        rules = body.get("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise HttpError(400, "bad_request", "`rules` must be an array of rule ids")
        policy = self._policy()
        try:
            result = policy.explanation(body["input"], rules)
        except ContextError as err:
            raise HttpError(
                400, "invalid_input", str(err), attribute=err.attribute or None
            ) from None
        except ValueError as err:  # a rule id the policy does not have
            raise HttpError(400, "unknown_rule", str(err)) from None
        return _json({"result": result, "policy": _identity(policy)})

    async def reload(self, request: Request) -> Response:
        await self._body_or_empty(request)
        outcome: Reload = await run_in_threadpool(self.holder.reload, trigger="http")
        answer = {**outcome.to_dict(), "policy": self._describe()}
        return _json(answer, 200 if outcome.ok else 422)

    async def _body_or_empty(self, request: Request) -> None:
        """`POST /v1/reload` takes no body; an empty object is allowed."""
        data = await self._read(request)
        if data.strip() not in (b"", b"{}"):
            raise HttpError(400, "bad_request", "`/v1/reload` takes no body")

    async def policy(self, request: Request) -> Response:
        return _json(self._describe())

    def _describe(self) -> dict[str, Any] | None:
        policy = self.holder.current
        if policy is None:
            return None
        names = fingerprint.relative_names(policy.sources)
        return {
            **_identity(policy),
            "files": names,
            "paths": [str(p) for p in self.holder.paths],
            "backend": policy.backend,
            "fail_closed": policy.fail_closed,
            "effects": list(policy.checked.effects),
            "rules": [rule.id for rule in policy.checked.rules],
            "warnings": [d.to_dict() for d in policy.warnings],
            "loaded_at": _rfc3339(self.holder.loaded_at),
            "last_reload": self.holder.last.to_dict() if self.holder.last else None,
            **({} if self.holder.entities is None else {"entities": len(policy.entities)}),
        }

    async def health(self, request: Request) -> Response:
        policy = self.holder.current
        if policy is None:
            return _json({"status": "starting"}, 503)
        return _json({"status": "ok", "policy": _identity(policy)})

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)


def _identity(policy: Policy) -> dict[str, Any]:
    return {"version": policy.version, "fingerprint": policy.fingerprint}


def _rfc3339(at: float | None) -> str | None:
    if at is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _too_large(limit: int) -> HttpError:
    return HttpError(413, "too_large", f"the body is larger than the limit of {limit:,} bytes")


def create_app(
    holder: PolicyHolder,
    *,
    token: str | None = None,
    max_body: int = MAX_REQUEST_BYTES,
    decision_log: DecisionLog | None = None,
    watch: bool = False,
) -> App:
    """The ASGI application. At startup it loads the policy if the holder has none (a policy
    that does not check stops the start) and starts watching the files when `watch`; at
    shutdown it stops watching and flushes the decision log."""
    service = Service(holder, token=token, max_body=max_body, decision_log=decision_log)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if holder.current is None:
            outcome = await run_in_threadpool(holder.reload, trigger="start")
            if not outcome.ok:
                raise RuntimeError("the policy does not check; not serving it")
        freeze_policy()
        if watch:
            holder.watch()
        try:
            yield
        finally:
            holder.stop_watching()
            if decision_log is not None:
                await run_in_threadpool(decision_log.close)

    e = service.endpoint
    decide = e("decide", service.decide)
    decide_batch = e("decide_batch", service.decide_batch)
    routes = [
        Route("/v1/decide", decide, methods=["POST"]),
        Route("/v1/decide/batch", decide_batch, methods=["POST"]),
        Route("/v1/explain", e("explain", service.explain), methods=["POST"]),
        Route("/v1/reload", e("reload", service.reload), methods=["POST"]),
        Route("/v1/policy", e("policy", service.policy), methods=["GET"]),
        Route("/health", e("health", service.health, auth=False), methods=["GET"]),
        Route("/metrics", e("metrics", service.metrics_text), methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        """Starlette's own refusals (no such route, wrong method) in the same JSON envelope."""
        status = getattr(exc, "status_code", 500)
        message = {404: "no such endpoint", 405: "method not allowed"}.get(status, "refused")
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "bad_request")
        headers = getattr(exc, "headers", None)
        return _json({"error": {"code": code, "message": message}}, status, headers)

    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.state.service = service
    return App(app, {"/v1/decide": decide, "/v1/decide/batch": decide_batch})


class App:
    """The service as one ASGI app: a POST to a decide endpoint goes straight to it (the hot
    path pays for no middleware and no route matching: a third of a decision's time in the
    application), everything else through Starlette, which has the same endpoints."""

    def __init__(self, starlette: Starlette, direct: dict[str, Endpoint]):
        self.starlette = starlette
        self.direct = direct
        self.state = starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.direct.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.starlette(scope, receive, send)


def serve(app: ASGIApp, *, host: str, port: int, access_log: bool = False) -> None:
    """Run `app` on uvicorn until SIGTERM or SIGINT, which finish the requests in flight first
    (at most 10 s); a stop so made returns normally (`policyc serve` exits 0). uvicorn is
    imported here: `create_app` serves on any ASGI server."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=False,  # the service reads no client address: no forwarded headers
    )
    server = uvicorn.Server(config)

    def stopped(signum: int, _frame: object) -> None:
        """uvicorn stops on SIGTERM and SIGINT, then raises the signal again under the handlers
        it found: this one, which lets a graceful stop end normally."""
        if not server.started:  # before the server took over its signals: stop at once
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    server.run()
