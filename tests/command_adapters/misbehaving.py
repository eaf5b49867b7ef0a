"""The Python example adapter with one fault of the adapter process itself, once per run.

``--fault crash`` exits in the middle of its 2nd submit (after a line on stderr), ``hang``
never answers it, ``garbage`` answers it with a line that is not JSON, ``off-protocol`` with a
JSON object that is no reply of the protocol, ``twice`` answers it twice (the kit notices the
extra line when it sends the next request). ``--once FILE``: only the first process to get
there misbehaves (it creates FILE), so the restarted adapter behaves and the run goes on.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "adapters" / "python" / "bg_adapter.py"
spec = importlib.util.spec_from_file_location("bg_adapter", EXAMPLE)
assert spec and spec.loader
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fault", choices=["crash", "hang", "garbage", "off-protocol", "twice"], required=True)
    parser.add_argument("--once", required=True)
    args = parser.parse_args()
    options = argparse.Namespace(  # the tests' tuning (tests/contract_clients: FAST)
        timeout=1.5, max_attempts=3, backoff=0.1, poll_interval=0.1, poll_timeout=2.0, bug=None
    )
    client = None
    submits = 0
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("op") == "submit":
            submits += 1
            if submits == 2 and not os.path.exists(args.once):
                Path(args.once).touch()
                print(f"misbehaving adapter: about to {args.fault} on submit {submits}", file=sys.stderr, flush=True)
                if args.fault == "crash":
                    os._exit(3)
                if args.fault == "hang":
                    while True:
                        time.sleep(60)
                if args.fault in ("garbage", "off-protocol"):
                    sys.stdout.write("hello, not json\n" if args.fault == "garbage" else '{"task": "x"}\n')
                    sys.stdout.flush()
                    continue
                client, reply = example.answer(client, message, options)
                sys.stdout.write(json.dumps(reply) + "\n" + json.dumps(reply) + "\n")
                sys.stdout.flush()
                continue
        client, reply = example.answer(client, message, options)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
