"""What a setting the fake cannot use raises, and how a state URL is shown in it: a leaf module,
so that what checks a setting's value (``storage/state_url.py``) and ``config.py``, which calls
those checks, need not import each other."""

from __future__ import annotations

import re


class ConfigError(ValueError):
    """A setting (file, flag or mapping) that the fake cannot use; the message says which."""


def without_password(url: str) -> str:
    """A state URL with its password replaced by ``***``, for messages, logs and the admin API.

    Text, not a parse: it must never fail (it words the errors of URLs that do not parse) and
    must mask even a password written with the characters a URL reserves (``redis://:a#b@host``
    splits at ``#``: a parser reads the password as ``a``), so the password runs to the last
    ``@``. A ``password=`` (or ``ssl_password=``) query parameter is masked too. Control
    characters are escaped: the result is always one line."""
    scheme = _SCHEME.match(url)
    head, rest = (url[:scheme.end()], url[scheme.end():]) if scheme else ("", url)
    masked = head + _USERINFO.sub(r"\g<user>:***@\g<host>", rest, count=1)
    masked = _QUERY_PASSWORD.sub(r"\g<1>***", masked)
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in masked)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/+")
#: A user name, ``:``, then the password up to the *last* ``@``.
_USERINFO = re.compile(r"^(?P<user>[^:@/?#]*):.*@(?P<host>[^@]*)$", re.S)
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl_)?password=)[^&#]*", re.I)
