"""bgmock's fake of the Aidge Image Background Generation API.

``create_app(config)`` gives a Flask app; ``Backend`` is its HTTP-free state; ``Dispatcher``
is the one path both transports use.
"""

from .app import create_app
from .backend import Backend
from .config import Config, ConfigError
from .dispatch import Dispatcher
from .http import Incoming, Reply

__all__ = ["Backend", "Config", "ConfigError", "Dispatcher", "Incoming", "Reply", "create_app"]
