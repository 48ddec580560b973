"""Deciding a log that outgrows one machine: Dask bags of requests, decided on a cluster.

The policy travels with each task pickled as its sources; a worker process compiles it the first
time and finds it by fingerprint every time after (`engine._rebuild`), so a partition costs its
decisions, not a compile. Each element gives what `policyc eval --batch` gives for a line: the
decision as `to_dict()`, or `{"error": ...}` in place of an invalid request. Needs the `dask`
extra (`pip install 'policydsl[dask]'`); `distributed` runs it on a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from policydsl.context import ContextError
from policydsl.decision import EvaluationError
from policydsl.request_json import RequestError, parse_request

if TYPE_CHECKING:
    from policydsl.engine import Policy


def decide_one(policy: Policy, item: Any) -> dict[str, Any]:
    """One element: a request mapping, or a JSON line (`str` or `bytes`)."""
    try:
        if isinstance(item, str):
            item = item.encode("utf-8", "surrogatepass")
        context = parse_request(item) if isinstance(item, bytes) else item
        if not isinstance(context, Mapping):
            raise ContextError("", "a request context must be an object")
        return policy.decide(context).to_dict()
    except (RequestError, ContextError) as err:
        return {"error": str(err)}
    except EvaluationError as err:
        return {"error": f"evaluation failed: {err}"}


def decide_partition(items: Iterable[Any], policy: Policy) -> list[dict[str, Any]]:
    """A partition's decisions, in its order (blank lines are not requests: left out)."""
    return [
        decide_one(policy, item)
        for item in items
        if not (isinstance(item, str | bytes) and not item.strip())
    ]


def decide_bag(policy: Policy, bag: Any) -> Any:
    """A `dask.bag.Bag` of the decisions of `bag`'s requests, element for element."""
    return bag.map_partitions(decide_partition, policy)


def decide_files(
    policy: Policy, urlpath: str | list[str], *, blocksize: int | str | None = "64MiB"
) -> Any:
    """The decisions of JSON Lines files (a path, a glob or a list, anything `dask.bag.read_text`
    reads), as a bag of dicts: `.map(json.dumps).to_textfiles(...)` writes them."""
    import importlib

    bag = importlib.import_module("dask.bag")  # untyped: read through `Any`
    return decide_bag(policy, bag.read_text(urlpath, blocksize=blocksize))
