"""Schemathesis against the in-process apps: generated requests, checked responses.

Schemathesis generates each case from the app's own OpenAPI document (or the gateway's
GraphQL schema) with Hypothesis; the case is sent through an httpx client on the test's
event loop, where the app's lifespan, databases and sibling calls live, and the response
goes back to Schemathesis's checks. Hypothesis runs in a worker thread and hands each
request to the loop, so a test's apps never see a second event loop.

`GOVPERF_FUZZ_EXAMPLES` sets the examples per operation and mode; unset, a small number
with a fixed, derandomized seed (the bounded run inside `make test`). Set, each run draws
random seeds (`make fuzz`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.errors import SerializationNotPossible

# The examples per operation and generation mode inside `make test`, and the time they may
# take: generating a deep body (an indicator tree) can cost a second a case, and the bounded
# run stays about a minute. `make fuzz` has no time limit.
BOUNDED_EXAMPLES = 4
BOUNDED_SECONDS_PER_OPERATION = 1.0
# A request that takes longer than this in-process has hung.
REQUEST_TIMEOUT_SECONDS = 60.0

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
REQUEST_ARGUMENTS = ("method", "url", "headers", "params", "json", "data", "files")


# Read at import: the suite's fixtures clear GOVPERF_* from the environment of each test.
CONFIGURED_EXAMPLES = os.environ.get("GOVPERF_FUZZ_EXAMPLES", "").strip()


@dataclass(frozen=True)
class Budget:
    max_examples: int
    derandomize: bool
    seconds: float | None


def budget(share: float = 1.0) -> Budget:
    """Bounded and repeatable, unless GOVPERF_FUZZ_EXAMPLES asks for a longer, random run.

    `share` scales the examples of a lighter pass (an anonymous caller is mostly refused).
    """
    configured = CONFIGURED_EXAMPLES
    if not configured:
        examples = max(1, round(BOUNDED_EXAMPLES * share))
        return Budget(examples, True, BOUNDED_SECONDS_PER_OPERATION * share)
    return Budget(max(1, round(int(configured) * share)), False, None)


class _OutOfTime(Exception):
    """The bounded run's time for one operation is spent (not a failure)."""


def hypothesis_settings(limits: Budget) -> settings:
    return settings(
        max_examples=limits.max_examples,
        derandomize=limits.derandomize,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


@dataclass
class Finding:
    """One operation's failure, with the request that shows it."""

    label: str
    mode: str
    report: str

    def __str__(self) -> str:
        return f"== {self.label} ({self.mode})\n{self.report.strip()}"


@dataclass
class FuzzRun:
    """Everything one component's fuzzing found, and what it covered."""

    component: str
    findings: list[Finding] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        shown = "\n\n".join(str(finding) for finding in self.findings)
        return (
            f"{len(self.findings)} failing operation(s) in {self.component} "
            f"(requests show `authorization: [Filtered]`: send an admin token, "
            f"`govperf token --role admin --jurisdiction 231100`):\n\n{shown}"
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and not isinstance(
        exc, schemathesis.errors.FailureGroup
    ):
        return "\n".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}" if not str(exc).strip() else str(exc)


class Fuzzer:
    """Sends generated cases to one in-process app from Hypothesis's worker thread."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        headers: Mapping[str, str] | None = None,
        checks: Iterable[Callable[..., Any]] = CHECKS,
        share: float = 1.0,
    ) -> None:
        self.client = client
        self.headers = dict(headers or {})
        self.checks = list(checks)
        self.share = share
        self.loop = asyncio.get_running_loop()

    def send(self, case: schemathesis.Case, run: FuzzRun, *, base_url: str) -> httpx.Response:
        try:
            arguments = case.as_transport_kwargs(base_url=base_url, headers=self.headers)
        except SerializationNotPossible:
            reject()  # a media type no serializer writes; other cases cover the route
        prepared = requests.Request(
            **{name: arguments[name] for name in REQUEST_ARGUMENTS if name in arguments}
        ).prepare()
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        request = self.client.request(
            str(prepared.method),
            str(prepared.url),
            headers=dict(prepared.headers),
            content=body,
        )
        future = asyncio.run_coroutine_threadsafe(request, self.loop)
        response = future.result(REQUEST_TIMEOUT_SECONDS)
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        return response

    def exercise(
        self,
        run: FuzzRun,
        label: str,
        mode: str,
        strategy: st.SearchStrategy[Any],
        *,
        path: str = "",
    ) -> None:
        """Run one strategy's examples (in the calling worker thread), recording a failure."""

        limits = budget(self.share)
        started = time.perf_counter()
        failed = False

        @hypothesis_settings(limits)
        @given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            nonlocal failed
            spent = time.perf_counter() - started
            if limits.seconds is not None and spent > limits.seconds and not failed:
                raise _OutOfTime
            try:
                response = self.send(case, run, base_url=f"{self.client.base_url}{path}")
                case.validate_response(response, checks=self.checks)
            except Exception:
                failed = True  # from here on, shrinking it takes what it needs
                raise

        try:
            check()
        except _OutOfTime:
            pass
        except ExceptionGroup as group:
            # Hypothesis replays what stopped a run; a stop for time seen twice comes back as
            # a group of them, which is no finding either.
            # (The condition is asked of each group too: a group is never the finding.)
            found = group.subgroup(lambda e: not isinstance(e, _OutOfTime | BaseExceptionGroup))
            if found is not None:
                run.findings.append(Finding(label, mode, _describe(found)))
        except Exception as exc:
            run.findings.append(Finding(label, mode, _describe(exc)))
        key = f"{label} ({mode})"
        run.seconds[key] = run.seconds.get(key, 0.0) + time.perf_counter() - started

    async def openapi(
        self,
        run: FuzzRun,
        document: dict[str, Any],
        *,
        skip: Callable[[str], bool] = lambda path: False,
        known_ids: Mapping[str, list[Any]] | None = None,
        modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    ) -> FuzzRun:
        """Every operation of an OpenAPI document, positive and negative cases.

        `known_ids` maps a path parameter's name to ids of records that exist, so that a
        share of the cases reaches past the 404 of an unknown id.
        """
        schema = schemathesis.openapi.from_dict(document)
        modes = list(modes)

        def work() -> None:
            for result in schema.get_all_operations():
                operation = result.ok()
                if skip(operation.path):
                    continue
                run.operations.append(operation.label)
                has_inputs = bool(
                    len(operation.path_parameters)
                    or len(operation.query)
                    or len(operation.headers)
                    or operation.body
                )
                for mode in modes:
                    if mode is GenerationMode.NEGATIVE and not has_inputs:
                        continue  # nothing to get wrong
                    strategy = operation.as_strategy(generation_mode=mode)
                    pinned = {
                        parameter.name: (known_ids or {}).get(parameter.name)
                        for parameter in operation.path_parameters
                    }
                    if mode is GenerationMode.POSITIVE and pinned and all(pinned.values()):
                        # Half the cases name records that exist.
                        existing = st.fixed_dictionaries(
                            {name: st.sampled_from(ids) for name, ids in pinned.items()}
                        ).flatmap(
                            lambda values, operation=operation, mode=mode: operation.as_strategy(
                                generation_mode=mode, path_parameters=values
                            )
                        )
                        strategy = st.one_of(existing, strategy)
                    self.exercise(run, operation.label, mode.value, strategy)

        await asyncio.to_thread(work)
        return run

    async def graphql(self, run: FuzzRun, sdl: str, *, path: str = "/graphql") -> FuzzRun:
        """Every query and mutation field of a GraphQL schema, sent as POST `path`."""
        schema = schemathesis.graphql.from_dict(_introspection_of(sdl))

        def work() -> None:
            for result in schema.get_all_operations():
                operation = result.ok()
                run.operations.append(operation.label)
                self.exercise(run, operation.label, "positive", operation.as_strategy(), path=path)

        await asyncio.to_thread(work)
        return run


def _introspection_of(sdl: str) -> dict[str, Any]:
    from graphql import build_schema, introspection_from_schema

    return dict(introspection_from_schema(build_schema(sdl)))
