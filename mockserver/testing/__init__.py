"""The testing surface: the pytest plugin, the Handle tests hold, running() (a live fake in a
thread) and mocked() / mocked_httpx() (the in-process modes).
"""
