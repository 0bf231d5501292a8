"""The official SDK's client for one CLI command that talks to a running `gazo serve` (`gazo batch`,
`gazo models list --server`), with the CLI's errors for its failures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gazo.cli.errors import fail, next_step

if TYPE_CHECKING:
    from openai.types import Batch

FINAL = ("completed", "failed", "expired", "cancelled")


class ServerClient:
    """The SDK client for one command, and the CLI's errors for its failures."""

    #: The next step after a 404 that `answers` is not told of.
    not_found = "check that --server is a gazo server."

    def __init__(self, server: str, api_key: str | None) -> None:
        import openai  # here, not at the top: `gazo --help` should not pay ~0.4 s for the SDK

        self.base, self.has_key = server.rstrip("/"), bool(api_key)
        if not self.base.startswith(("http://", "https://")):
            fail(
                f"--server {server!r} is not a URL",
                "give it with its scheme, e.g. --server http://127.0.0.1:8000.",
            )
        self.client = openai.OpenAI(
            base_url=f"{self.base}/v1",
            api_key=api_key or "never-sent",
            max_retries=0,
            timeout=openai.Timeout(300.0, connect=30.0),
        )
        #: Every call's keyword arguments: with no key, none is sent (a server in open mode serves that).
        self.auth: dict[str, Any] = {} if api_key else {"extra_headers": {"Authorization": openai.omit}}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    @contextmanager
    def answers(self, missing: str = "") -> Iterator[None]:
        """Turn the SDK's errors into `Error: ...` / `next: ...`; `missing` is the next step for a 404."""
        import openai

        try:
            yield
        except openai.APIStatusError as error:
            body = error.body if isinstance(error.body, dict) else {}
            message = body.get("message") or f"HTTP {error.status_code}: {error.response.text[:200]}"
            retry = error.response.headers.get("retry-after")
            hint = next_step(error.code, error.status_code, retry_after=retry, has_key=self.has_key)
            if error.status_code == 404:
                hint = missing or self.not_found
            fail(str(message), hint, code=error.code)
        except openai.APIConnectionError as error:  # APITimeoutError included
            cause = f" ({error.__cause__})" if error.__cause__ else ""
            fail(
                f"could not reach gazo at {self.base}{cause}",
                "is `gazo serve` running there? Check --server.",
            )


class BatchClient(ServerClient):
    """`gazo batch`'s client: a batch's state, its files, and a bar while it runs."""

    not_found = "check that --server is a gazo server with the Batch API (/v1/batches)."

    def retrieve(self, batch_id: str) -> Batch:
        with self.answers("`gazo batch list` shows the batches of this key."):
            return self.client.batches.retrieve(batch_id, **self.auth)

    def content(self, file_id: str | None) -> str:
        if not file_id:
            return ""
        with self.answers("the file is gone: the server may have deleted it after its retention time."):
            return self.client.files.content(file_id, **self.auth).text

    def watch(self, batch: Batch, interval_s: float = 1.0) -> Batch:
        """Poll until the batch ends, with a bar over its requests on stderr."""
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
        )
        with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as bar:
            task = bar.add_task(batch.status, total=None, failed="")
            while True:
                done, failed, total = counts(batch)
                bar.update(
                    task,
                    description=batch.status,
                    completed=done + failed,
                    total=total or None,
                    failed=f"{failed} failed" if failed else "",
                )
                if batch.status in FINAL:
                    return batch
                time.sleep(interval_s)
                batch = self.retrieve(batch.id)


def counts(batch: Batch) -> tuple[int, int, int]:
    counts = batch.request_counts
    return (counts.completed, counts.failed, counts.total) if counts else (0, 0, 0)
