"""The forked worker pool: every result once, worker errors raised, nothing left running when stopped."""

from __future__ import annotations

import os
import time

import pytest

from digest.workers import Forked, Helper, fork_map


def test_every_item_is_computed_once_by_the_workers():
    parent = os.getpid()
    results = list(fork_map(lambda n: (n * n, os.getpid()), list(range(200)), 3))
    assert sorted(item for item, _ in results) == list(range(200))
    assert all(square == item * item for item, (square, _) in results)
    assert {pid for _, (_, pid) in results} - {parent} and parent not in {pid for _, (_, pid) in results}


def test_a_large_result_crosses_the_pipe_intact():
    results = dict(fork_map(lambda n: bytes([n]) * 3_000_000, [1, 2, 3], 2))
    assert results == {n: bytes([n]) * 3_000_000 for n in (1, 2, 3)}


def test_an_error_in_a_worker_is_raised_in_the_parent():
    def fail_on_seven(n: int) -> int:
        if n == 7:
            raise ValueError("seven is broken")
        return n

    with pytest.raises(ValueError, match="seven is broken"):
        list(fork_map(fail_on_seven, list(range(20)), 2))


def test_stopping_early_leaves_no_worker_behind():
    results = fork_map(lambda n: (time.sleep(0.05 if n > 1 else 0), os.getpid())[1], list(range(100)), 2)
    workers = {pid for _, pid in (next(results), next(results))}
    results.close()  # what an interrupt in the parent does: the generator's finally runs
    for pid in workers:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # killed and reaped already: no longer a child of ours


@pytest.mark.parametrize("count", [0, 1, 2, 3, 33, 257])
@pytest.mark.parametrize("jobs", [1, 2, 3, 5])
def test_any_number_of_items_and_workers(count: int, jobs: int):
    results = list(fork_map(lambda n: -n, list(range(count)), jobs))
    assert sorted(results) == [(n, -n) for n in range(count)]


def test_each_of_two_workers_takes_one_run_of_neighbours_and_a_slow_one_takes_fewer():
    def work(n: int) -> int:
        if n >= 100:
            time.sleep(0.01)  # the back half is slow: the worker that starts there does fewer items
        return os.getpid()

    by_worker: dict[int, list[int]] = {}
    for n, pid in fork_map(work, list(range(200)), 2):
        by_worker.setdefault(pid, []).append(n)
    front, back = sorted(by_worker.values(), key=min)
    assert sorted(front) == list(range(len(front))) and sorted(back) == list(range(len(front), 200))
    assert len(front) > 120  # it went through the fast half, then met the other worker in the slow one


def test_a_forked_call_runs_alongside_the_parent_and_hands_back_its_result():
    started = time.perf_counter()
    child = Forked(lambda: (time.sleep(0.3), os.getpid(), b"x" * 3_000_000))
    parent_work = time.perf_counter() - started  # the parent goes on at once
    _, pid, data = child.result()
    assert parent_work < 0.2 and pid != os.getpid() and data == b"x" * 3_000_000


def test_an_error_in_a_forked_call_is_raised_in_the_parent():
    child = Forked(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        child.result()


def test_a_cancelled_forked_call_leaves_no_process_behind(tmp_path):
    marker = tmp_path / "pid"
    child = Forked(lambda: (marker.write_text(str(os.getpid())), time.sleep(30)))
    deadline = time.monotonic() + 10
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "the forked call never started"
        time.sleep(0.01)
    child.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(int(marker.read_text()), 0)  # killed and reaped


def _square(n: int) -> int:
    return n * n


def _broken() -> None:
    raise ValueError("the helper's call broke")


def test_a_helper_runs_calls_in_order_in_its_own_process_and_answers_each():
    helper = Helper((os.getpid, _square, _broken))
    try:
        pid = helper.call(os.getpid)
        squares = [helper.call(_square, n) for n in range(5)]
        broken = helper.call(_broken)
        after = helper.call(_square, 9)
        assert after.result() == 81  # answers can be read in any order; the helper went on after the error
        assert [answer.result() for answer in squares] == [0, 1, 4, 9, 16]
        with pytest.raises(ValueError, match="the helper's call broke"):
            broken.result()
        helper_pid = pid.result()
        assert helper_pid != os.getpid()
        with pytest.raises(ValueError):
            helper.call(print)  # not a function it was forked with
    finally:
        helper.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(helper_pid, 0)  # gone and reaped once stopped


def test_stopping_a_busy_helper_stops_it_at_once():
    helper = Helper((os.getpid, time.sleep))
    pid = helper.call(os.getpid).result()
    helper.call(time.sleep, 30)
    started = time.perf_counter()
    helper.stop()
    assert time.perf_counter() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped
