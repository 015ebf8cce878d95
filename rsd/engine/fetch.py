"""The fetch scheduler of a run: requests sent ahead of the page loop on worker threads, used in page order.

Owns: `Fetcher`, the run's worker threads (as many as `--concurrency`, started on first use), and `Lookahead`,
one per paged call: the requests the page loop announces ahead of time (the next page of a cursor or next-URL
chain while the current page is mapped and written; the pages after it when page k's request is known without
page k-1), at most `window` of them sent or held at once. A response is used only when the page loop asks for
exactly that page and URL, so the pages, their order and the rows are those of a one-at-a-time run; a
request announced and then not needed (past an empty last page, or a guess that was wrong) is counted in
`extra`. Must not: decide what the next page is (the pager does), parse bodies, or touch the run's items: the
workers only run the send function they are given, everything else stays on the calling thread.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

if TYPE_CHECKING:  # imported when the first worker starts: `rsd check` reads this package and starts none
    import queue
    from concurrent.futures import Future


class Fetcher:
    """The worker threads of one run. `concurrency` 1 means no threads at all: every request in turn."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, int(concurrency))
        self.extra = 0  # requests sent ahead whose response was never used
        self._jobs: Optional["queue.SimpleQueue[Any]"] = None
        self._workers: list[threading.Thread] = []
        self._open: set[Lookahead] = set()

    @property
    def concurrent(self) -> bool:
        return self.concurrency > 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        from concurrent.futures import Future

        if self._jobs is None:
            import queue
            self._jobs = queue.SimpleQueue()
            # daemon threads (not a ThreadPoolExecutor, whose threads the interpreter waits for at exit): Ctrl-C
            # or an error ends the process at once, whatever a slow server still holds in flight
            for n in range(self.concurrency):
                worker = threading.Thread(target=_work, args=(self._jobs,), name=f"rsd-fetch-{n + 1}", daemon=True)
                worker.start()
                self._workers.append(worker)
        future: Future[Any] = Future()
        self._jobs.put((future, fn, args))
        return future

    def lookahead(self, send: Callable[[str, int, bool], Any], window: Optional[int] = None) -> "Lookahead":
        ahead = Lookahead(self, send, self.concurrency if window is None else window)
        self._open.add(ahead)
        return ahead

    def close(self, wait: bool = True) -> None:
        """Stop the workers. Requests still queued are dropped; those in flight are waited for (their responses
        dropped), unless `wait` is false: a failed or interrupted run does not wait for a slow server."""
        for ahead in list(self._open):
            ahead.close()
        if self._jobs is not None:
            for _ in self._workers:
                self._jobs.put(None)  # one stop sign per worker, after what is queued (cancelled by now)
            if wait:
                for worker in self._workers:
                    worker.join()
            self._jobs, self._workers = None, []


class Lookahead:
    """Requests of one paged call sent ahead, oldest first: (page number, URL, future)."""

    def __init__(self, fetcher: Fetcher, send: Callable[[str, int, bool], Any], window: int) -> None:
        self.fetcher = fetcher
        # send(url, page_no, from_response) -> the page's response, run on a worker; `from_response`: the URL came
        # from a response (a next URL, a Link header), which the HTTP client's trust policy treats apart
        self.send = send
        self.window = max(1, window)
        self.pending: deque[tuple[int, str, "Future[Any]"]] = deque()

    def announce(self, pages: Iterable[tuple[int, str, bool]]) -> None:
        """Pages the loop will ask for next, in order: each is sent unless already on its way with that URL. A
        page already sent with another URL, and everything after it, is dropped (the guess was wrong)."""
        for page_no, url, from_response in pages:
            queued = next((i for i, (n, _, _) in enumerate(self.pending) if n == page_no), None)
            if queued is not None:
                if self.pending[queued][1] == url:
                    continue
                self._drop_from(queued)
            elif self.pending and self.pending[-1][0] > page_no:
                continue  # never reorder: a page before the queued ones is sent when it is asked for
            if len(self.pending) >= self.window:
                return
            self.pending.append((page_no, url, self.fetcher.submit(self.send, url, page_no, from_response)))

    def take(self, page_no: int, url: str, from_response: bool) -> Any:
        """The response of page `page_no` at `url`: the one sent ahead when it is that page and URL (waiting for
        it if needed), else sent now. Errors surface here, where a one-at-a-time run would have met them."""
        if self.pending and self.pending[0][0] == page_no and self.pending[0][1] == url:
            return self.pending.popleft()[2].result()
        self._drop_from(0)
        return self.send(url, page_no, from_response)

    def close(self) -> None:
        """The call ended (last page, a stop rule, an error, `--limit`): what is still pending is not needed."""
        self._drop_from(0)
        self.fetcher._open.discard(self)

    def _drop_from(self, index: int) -> None:
        while len(self.pending) > index:
            _, _, future = self.pending.pop()
            if not future.cancel():  # already sent: a request the run made and did not use
                self.fetcher.extra += 1


def _work(jobs: "queue.SimpleQueue[Any]") -> None:
    """A worker: runs queued sends until its stop sign; a send cancelled before it started is skipped."""
    while True:
        job = jobs.get()
        if job is None:
            return
        future, fn, args = job
        if not future.set_running_or_notify_cancel():
            continue
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the page loop, which raises it where a sequential run would
            future.set_exception(exc)
        else:
            future.set_result(result)

