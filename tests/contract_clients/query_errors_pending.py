"""Treats any error answer of the result query as "not ready yet" and keeps polling, so a
content refusal (1000) on the query is polled again and again and never reported.
Caught by C12."""

import time

from contracts.reference_client import ApiError, BackgroundClient, TaskFailedError, WaitTimeout

from . import factory


class QueryErrorsPending(BackgroundClient):
    def wait(self, task_id: str) -> list[list[str]]:
        deadline = time.monotonic() + self.poll_timeout
        while time.monotonic() < deadline:
            try:
                data = self.query(task_id)
            except ApiError:
                self.sleep(self.poll_interval * 2)
                continue
            if data.get("taskStatus") == "finished":
                return [item["imageUrlList"] for item in data["taskResult"]]
            if data.get("taskStatus") == "failed":
                raise TaskFailedError(data.get("taskMessage", ""))
            self.sleep(self.poll_interval)
        raise WaitTimeout("timed out")


# Its bug ends each final-code probe at its own polling deadline, so that deadline must fire and
# stays short (the kit's poll bound is well past it); a late answer elsewhere could only add to C12.
make_adapter = factory(QueryErrorsPending, poll_timeout=1.2)
