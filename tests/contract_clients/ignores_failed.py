"""Waits for ``finished`` only; a ``failed`` task looks like one still running, so the
caller waits until the timeout and never learns why. Caught by C10."""

from contracts.reference_client import BackgroundClient, WaitTimeout

from . import factory


class IgnoresFailed(BackgroundClient):
    def wait(self, task_id: str) -> list[list[str]]:
        import time

        deadline = time.monotonic() + self.poll_timeout
        while time.monotonic() < deadline:
            data = self.query(task_id)
            if data.get("taskStatus") == "finished":
                return [item["imageUrlList"] for item in data["taskResult"]]
            self.sleep(self.poll_interval)
        raise WaitTimeout("timed out")


make_adapter = factory(IgnoresFailed)
