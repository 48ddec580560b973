"""Deciding on Dask: a real `distributed.LocalCluster` of two worker processes gives exactly the
single-process decisions, and each worker compiles the policy once however many partitions
it decides; unpickling a policy already built in a process is nearly free."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import pytest

import policydsl
from policydsl import dask_batch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_unpickling_the_same_policy_again_reuses_it() -> None:
    policy = policydsl.load_stdlib()
    data = pickle.dumps(policy)
    first = pickle.loads(data)
    started = time.perf_counter()
    again = pickle.loads(data)
    assert again is first and time.perf_counter() - started < 0.1  # no compile (~30 ms)
    assert first.fingerprint == policy.fingerprint
    other = pickle.loads(pickle.dumps(policydsl.load_stdlib(backend="naive")))
    assert other is not first and other.backend == "naive"


def test_a_partition_decides_lines_and_mappings_as_the_batch_does() -> None:
    policy = policydsl.load_stdlib()
    lines = (EXAMPLES / "batch_with_errors.jsonl").read_text().splitlines()
    decided = dask_batch.decide_partition([*lines, "", {"user": {"age": 30}}, 5], policy)
    assert len(decided) == len(lines) + 2
    assert "user.age" in decided[2]["error"]
    assert decided[0] == policy.decide(json.loads(lines[0])).to_dict()
    assert decided[-2]["decision"] == "allow"
    assert "must be an object" in decided[-1]["error"]


@pytest.mark.slow
def test_a_local_cluster_decides_exactly_as_one_process(tmp_path: Path) -> None:
    pytest.importorskip("dask.bag")
    distributed = pytest.importorskip("distributed")
    lines = (EXAMPLES / "batch.jsonl").read_text().splitlines()
    lines += (EXAMPLES / "batch_with_errors.jsonl").read_text().splitlines()
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines * 50) + "\n")
    policy = policydsl.load_stdlib()
    expected = [dask_batch.decide_one(policy, line) for line in lines * 50]

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        bag = dask_batch.decide_files(policy, str(path), blocksize=2000)
        assert bag.npartitions >= 4
        assert bag.compute() == expected

        def compiled() -> int:
            from policydsl import engine

            return len(engine._UNPICKLED)

        per_worker = client.run(compiled)
        assert len(per_worker) == 2 and set(per_worker.values()) <= {0, 1}
        assert sum(per_worker.values()) >= 1  # compiled once in a worker that decided
