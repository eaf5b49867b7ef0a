"""What an answer looks like, beside the routes: envelopes (``envelopes.py``), the API's ``data``
(``views.py``) and every path and URL of the fake, defined once (``urls.py``).

Nothing here holds state or decides anything: the behaviour (``api/``) returns its state, the
routes (``routes/``) shape it with these.
"""
