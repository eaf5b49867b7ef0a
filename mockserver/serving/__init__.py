"""Serving the fake: the servers (bgmock's threaded one, granian's workers, werkzeug's), the
WSGI host they share, TLS and the proxy mode, stopping and readiness, and the Flask app.
"""
