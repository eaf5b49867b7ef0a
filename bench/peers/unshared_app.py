"""Bench only: the fake on granian's workers with *no* shared state, each worker its own
in-memory Backend. Not one fake (a task submitted to one worker is unknown to the other): the
ceiling that ``bgmock serve --workers 2`` would reach if sharing state cost nothing, measured by
``bench/bench_redis_cost.py`` beside the real thing.

    python -m granian --interface wsgi --workers 2 --factory unshared_app:app   (cwd: bench/peers)
"""

from mockserver.api import Backend
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.serving.wsgi import WsgiApp


def app() -> WsgiApp:
    return WsgiApp(Dispatcher(Backend(Config(log_requests=False))))
