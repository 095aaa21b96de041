"""Run a function over many items in forked worker processes, and stop them at once on Ctrl-C.

``multiprocessing.Pool`` was used here before, but its ``terminate()`` can deadlock when the
parent is interrupted while a worker holds the task queue's lock (seen as a build that hung
after SIGINT). This is the small part of a pool a build needs: forked workers inherit the work
(nothing is pickled on the way in), the parent hands each one chunks of consecutive items over
its own pipe as it finishes the last, and each streams its results back over another; on any
exception in the parent every worker is SIGKILLed and reaped before the exception goes on, so
an interrupted build leaves no process behind.

Each worker starts at its own place in the sequence and moves on from there (with two workers:
one from the front, one from the back, until they meet), so neighbouring items go to the same
worker, and a worker slowed down by a busy machine simply takes fewer chunks. Neighbours share
work: the list pages of a topic show the same stories, and a worker renders each story's card
once (see ``Renderer.fragment``), so splitting the pages in runs rather than every other page
saves a quarter of the rendering time with two workers.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import struct
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_HEADER = struct.Struct("<QB")  # payload length, kind
_RESULT, _ERROR = 0, 1
_ORDER = struct.Struct("<qqq")  # the item positions range(start, stop, step) to do next; step 0: stop
CHUNK = 32  # the most items in one order: small enough that the workers finish together


def fork_map(function: Callable[[T], R], items: Sequence[T], jobs: int) -> Iterator[tuple[T, R]]:
    """``(item, function(item))`` for every item, computed by ``jobs`` forked workers.

    Results arrive in completion order, not item order: callers that need an order sort or index
    by item. An exception raised by ``function`` in a worker is raised again here.
    """
    schedule = _Schedule(len(items), min(jobs, len(items)))
    workers: dict[int, _Worker] = {}  # results read fd -> worker
    try:
        for number in range(schedule.workers):
            orders_read, orders_write = os.pipe()
            results_read, results_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                for other in workers.values():  # so that only the parent holds them, and its death is seen
                    os.close(other.orders)
                    os.close(other.results)
                os.close(orders_write)
                os.close(results_read)
                _work(function, items, orders_read, results_write)
            os.close(orders_read)
            os.close(results_write)
            workers[results_read] = worker = _Worker(number, pid, orders_write, results_read)
            for _ in range(2):  # one order ahead, so a worker never waits for the next
                worker.order(schedule.take(number))
        yield from _collect(items, schedule, workers)
    finally:
        for worker in workers.values():
            try:
                os.kill(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(worker.pid, 0)
            os.close(worker.orders)
            os.close(worker.results)


class _Schedule:
    """Which consecutive items each worker does next.

    The items are cut into one run per two workers; the first of a pair works through its run
    from the front, the second from the back. A worker whose run is done helps with the run that
    has the most items left, from its back.
    """

    def __init__(self, count: int, workers: int) -> None:
        self.workers = workers
        runs = max(1, (workers + 1) // 2)
        self.runs = [[count * k // runs, count * (k + 1) // runs] for k in range(runs)]  # [front, back) left
        self.chunk = max(1, min(CHUNK, count // max(1, workers * 8)))

    def take(self, worker: int) -> range | None:
        run = self.runs[worker // 2]
        forward = worker % 2 == 0
        if run[0] >= run[1]:
            run = max(self.runs, key=lambda r: r[1] - r[0])
            forward = False
            if run[0] >= run[1]:
                return None
        if forward:
            start = run[0]
            run[0] = min(run[1], start + self.chunk)
            return range(start, run[0])
        stop = run[1]
        run[1] = max(run[0], stop - self.chunk)
        return range(stop - 1, run[1] - 1, -1)


class _Worker:
    """The parent's side of one worker: its pipes and the orders it has not finished."""

    def __init__(self, number: int, pid: int, orders: int, results: int) -> None:
        self.number, self.pid, self.orders, self.results = number, pid, orders, results
        self.pending: deque[int] = deque()  # items left in each order sent, oldest first
        self.stopped = False

    def order(self, chunk: range | None) -> None:
        """Send the next chunk, or, when there is none and nothing is pending, the order to stop."""
        if chunk is not None:
            self.pending.append(len(chunk))
            self._send(chunk.start, chunk.stop, chunk.step)
        elif not self.pending and not self.stopped:
            self.stopped = True
            self._send(0, 0, 0)

    def _send(self, start: int, stop: int, step: int) -> None:
        try:
            os.write(self.orders, _ORDER.pack(start, stop, step))
        except BrokenPipeError:
            pass  # the worker has stopped: its results pipe says why (an error, or items not done)

    def done_one(self, schedule: _Schedule) -> None:
        """One result arrived; at the end of an order, send the next."""
        self.pending[0] -= 1
        if self.pending[0] == 0:
            self.pending.popleft()
            self.order(schedule.take(self.number))


def _work(function: Callable[[T], R], items: Sequence[T], orders_fd: int, results_fd: int) -> None:
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops us
        with os.fdopen(results_fd, "wb", buffering=1 << 16) as out:
            while (chunk := _next_order(orders_fd)) is not None:
                for position in chunk:
                    message, failed = _message(lambda: (position, function(items[position])))
                    out.write(message)
                    out.flush()  # at once, so a worker whose parent was killed stops at its next item
                    if failed:
                        return
    except BaseException:  # noqa: BLE001 - a worker must never run on into the parent's code
        status = 1
    finally:
        os._exit(status)


def _next_order(orders_fd: int) -> range | None:
    """The next chunk from the parent; None when told to stop. Raises EOFError when the parent is gone."""
    data = b""
    while len(data) < _ORDER.size:
        more = os.read(orders_fd, _ORDER.size - len(data))
        if not more:
            raise EOFError("the parent closed the orders pipe")
        data += more
    start, stop, step = _ORDER.unpack(data)
    return range(start, stop, step) if step else None


class Forked(Generic[R]):
    """``function()`` computed in a forked child while the parent goes on; :meth:`result` waits for it.

    For work that must not share the parent's interpreter lock: a thread that feeds an external
    process page by page waits up to the lock's switch interval every time it needs the lock back
    from a busy parent, and so crawls. The child inherits everything (nothing is pickled on the way
    in) and sends back the pickled result, or the exception, as a fork_map worker does.
    """

    def __init__(self, function: Callable[[], R]) -> None:
        read, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the child: never returns
            os.close(read)
            status = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops us
                message, _ = _message(function)
                with os.fdopen(write, "wb") as out:
                    out.write(message)
            except BaseException:  # noqa: BLE001 - a child must never run on into the parent's code
                status = 1
            finally:
                os._exit(status)
        os.close(write)
        self._read: int | None = read

    def result(self) -> R:
        """The function's result, once the child has sent it; its exception raised here if it raised one."""
        assert self._read is not None, "result() or cancel() was called already"
        data = bytearray()
        try:
            while chunk := os.read(self._read, 1 << 20):
                data += chunk
        finally:
            self._close()
        value = _take(data)
        if value is _INCOMPLETE:
            raise RuntimeError("a forked child stopped without a result")
        return value

    def cancel(self) -> None:
        """Stop the child now (the parent no longer wants the result)."""
        if self._read is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._close()

    def _close(self) -> None:
        assert self._read is not None
        os.close(self._read)
        self._read = None
        os.waitpid(self._pid, 0)


class Helper:
    """A forked process that runs, one after the other, calls the parent sends it later of the
    functions it was forked with, while the parent goes on; each :class:`Answer` waits for its own.

    For a build's side work on its second core (checking the output files, indexing the search
    shards an edit changed), forked before the build loads its cache and models the site: a child
    forked later shares a hundred megabytes with the parent copy-on-write, and the parent then
    takes a page fault for every page of its model it touches again (7,000 at 10,000 articles, 2.5
    microseconds each on a virtual machine). The functions are inherited, never pickled (a module's
    function replaced after the fork is still the one forked); their arguments and results are.
    """

    def __init__(self, functions: Sequence[Callable[..., Any]]) -> None:
        self._functions = tuple(functions)
        orders_read, self._orders = os.pipe()
        self._results, results_write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the helper: never returns
            os.close(self._orders)
            os.close(self._results)
            _help(self._functions, orders_read, results_write)
        os.close(orders_read)
        os.close(results_write)
        self._asked = 0
        self._answers: list[tuple[int, Any]] = []  # (kind, value) of each call answered, in order
        self._buffer = bytearray()
        self._open = True

    def call(self, function: Callable[..., R], *args: Any) -> Answer[R]:
        """Have the helper run ``function(*args)`` once it is done with the calls before; ``function``
        must be one of those it was forked with."""
        assert self._open, "the helper was stopped"
        payload = pickle.dumps((self._functions.index(function), args), pickle.HIGHEST_PROTOCOL)
        _write_all(self._orders, _LENGTH.pack(len(payload)) + payload)
        self._asked += 1
        return Answer(self, self._asked - 1)

    def _answer(self, number: int) -> Any:
        assert self._open, "the helper was stopped"
        while len(self._answers) <= number:
            message = _take_message(self._buffer)
            if message is not _INCOMPLETE:
                self._answers.append(message)
                continue
            chunk = os.read(self._results, 1 << 20)
            if not chunk:
                raise RuntimeError("the build's helper process stopped without an answer")
            self._buffer += chunk
        kind, value = self._answers[number]
        if kind == _ERROR:
            raise value
        return value

    def stop(self) -> None:
        """End the helper: at once if it is still at work (the build failed, or no longer wants the answer)."""
        if not self._open:
            return
        self._open = False
        os.close(self._orders)  # the end of the orders: an idle helper exits
        if len(self._answers) < self._asked:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(self._results)
        os.waitpid(self._pid, 0)


class Answer(Generic[R]):
    """What one :meth:`Helper.call` returns, once the helper has run it."""

    def __init__(self, helper: Helper, number: int) -> None:
        self._helper, self._number = helper, number

    def result(self) -> R:
        """The call's result, waiting for it if need be; its exception raised here if it raised one."""
        return self._helper._answer(self._number)  # noqa: SLF001 - the helper keeps the answers in order


_LENGTH = struct.Struct("<Q")  # of each call sent to a helper


def _help(functions: tuple[Callable[..., Any], ...], orders_fd: int, results_fd: int) -> None:
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops us
        with os.fdopen(orders_fd, "rb") as orders, os.fdopen(results_fd, "wb") as out:
            while header := orders.read(_LENGTH.size):
                position, args = pickle.loads(orders.read(_LENGTH.unpack(header)[0]))
                message, _ = _message(lambda: functions[position](*args))
                out.write(message)
                out.flush()
    except BaseException:  # noqa: BLE001 - a child must never run on into the parent's code
        status = 1
    finally:
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


_INCOMPLETE = object()  # what _take finds in a buffer that holds no whole message yet


def _message(compute: Callable[[], Any]) -> tuple[bytes, bool]:
    """``compute()``'s result as one message for the parent (length, kind, pickle), or the exception it
    raised; True when it raised."""
    try:
        payload, kind = pickle.dumps(compute(), pickle.HIGHEST_PROTOCOL), _RESULT
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        payload, kind = _pickled_error(exc), _ERROR
    return _HEADER.pack(len(payload), kind) + payload, kind == _ERROR


def _take(buffer: bytearray) -> Any:
    """Remove the first whole message from ``buffer`` and return its value, or raise the exception it
    carries; :data:`_INCOMPLETE` when the buffer holds no whole message yet."""
    message = _take_message(buffer)
    if message is _INCOMPLETE:
        return _INCOMPLETE
    kind, value = message
    if kind == _ERROR:
        raise value
    return value


def _take_message(buffer: bytearray) -> Any:
    """Remove the first whole message from ``buffer`` and return its kind and value (a result or an
    exception); :data:`_INCOMPLETE` when the buffer holds no whole message yet."""
    if len(buffer) < _HEADER.size:
        return _INCOMPLETE
    length, kind = _HEADER.unpack_from(buffer)
    if len(buffer) < _HEADER.size + length:
        return _INCOMPLETE
    value = pickle.loads(bytes(buffer[_HEADER.size:_HEADER.size + length]))
    del buffer[:_HEADER.size + length]
    return kind, value


def _pickled_error(exc: Exception) -> bytes:
    try:
        return pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an exception that cannot travel is sent as its message
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"), pickle.HIGHEST_PROTOCOL)


def _collect(items: Sequence[T], schedule: _Schedule, workers: dict[int, _Worker]) -> Iterator[tuple[T, R]]:
    buffers = {fd: bytearray() for fd in workers}
    with selectors.DefaultSelector() as selector:
        for fd in workers:
            selector.register(fd, selectors.EVENT_READ)
        open_fds = len(workers)
        while open_fds:
            for key, _ in selector.select():
                fd = key.fd
                worker = workers[fd]
                chunk = os.read(fd, 1 << 20)
                buffer = buffers[fd]
                if not chunk:
                    selector.unregister(fd)
                    open_fds -= 1
                    if worker.pending:
                        raise RuntimeError(f"a build worker stopped with {sum(worker.pending)} items not done")
                    continue
                buffer += chunk
                while (value := _take(buffer)) is not _INCOMPLETE:
                    position, result = value
                    worker.done_one(schedule)
                    yield items[position], result
