"""Run a function over many items in forked worker processes, and stop them at once on Ctrl-C.

``multiprocessing.Pool`` was used here before, but its ``terminate()`` can deadlock when the
parent is interrupted while a worker holds the task queue's lock (seen as a build that hung
after SIGINT). This is the small part of a pool a build needs: forked workers inherit the work
(nothing is pickled on the way in), each takes a fixed share of the items and streams its
results back over its own pipe; on any exception in the parent every worker is SIGKILLed and
reaped before the exception goes on, so an interrupted build leaves no process behind.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_HEADER = struct.Struct("<QB")  # payload length, kind
_RESULT, _ERROR = 0, 1


def fork_map(function: Callable[[T], R], items: Sequence[T], jobs: int) -> Iterator[tuple[T, R]]:
    """``(item, function(item))`` for every item, computed by ``jobs`` forked workers.

    Results arrive in completion order, not item order: callers that need an order sort or index
    by item. An exception raised by ``function`` in a worker is raised again here.
    """
    workers: dict[int, int] = {}  # read fd -> pid
    shares = [items[k::jobs] for k in range(jobs) if items[k::jobs]]
    try:
        for share in shares:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                os.close(read_fd)
                _work(function, share, write_fd)
            workers[read_fd] = pid
            os.close(write_fd)
        yield from _collect(shares, workers)
    finally:
        for read_fd, pid in workers.items():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(read_fd)


def _work(function: Callable[[T], R], share: Sequence[T], write_fd: int) -> None:
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops us
        with os.fdopen(write_fd, "wb", buffering=1 << 16) as out:
            for position, item in enumerate(share):
                try:
                    payload, kind = pickle.dumps((position, function(item)), pickle.HIGHEST_PROTOCOL), _RESULT
                except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
                    payload, kind = _pickled_error(exc), _ERROR
                out.write(_HEADER.pack(len(payload), kind))
                out.write(payload)
                out.flush()  # at once, so a worker whose parent was killed stops at its next item
                if kind == _ERROR:
                    break
    except BaseException:  # noqa: BLE001 - a worker must never run on into the parent's code
        status = 1
    finally:
        os._exit(status)


def _pickled_error(exc: Exception) -> bytes:
    try:
        return pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an exception that cannot travel is sent as its message
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"), pickle.HIGHEST_PROTOCOL)


def _collect(shares: list[Sequence[T]], workers: dict[int, int]) -> Iterator[tuple[T, R]]:
    share_of = dict(zip(workers, shares))
    buffers = {fd: bytearray() for fd in workers}
    done = {fd: 0 for fd in workers}
    with selectors.DefaultSelector() as selector:
        for fd in workers:
            selector.register(fd, selectors.EVENT_READ)
        open_fds = len(workers)
        while open_fds:
            for key, _ in selector.select():
                fd = key.fd
                chunk = os.read(fd, 1 << 20)
                buffer = buffers[fd]
                if not chunk:
                    selector.unregister(fd)
                    open_fds -= 1
                    if done[fd] != len(share_of[fd]):
                        raise RuntimeError(f"a build worker stopped after {done[fd]} of {len(share_of[fd])} items")
                    continue
                buffer += chunk
                while len(buffer) >= _HEADER.size:
                    length, kind = _HEADER.unpack_from(buffer)
                    if len(buffer) < _HEADER.size + length:
                        break
                    value = pickle.loads(bytes(buffer[_HEADER.size:_HEADER.size + length]))
                    del buffer[:_HEADER.size + length]
                    if kind == _ERROR:
                        raise value
                    position, result = value
                    done[fd] += 1
                    yield share_of[fd][position], result
