"""The examples for unittest users and scripts (docs/pytest-plugin.md, "Without pytest")."""

import unittest

import requests

import mockserver

SUBMIT = "/ai/image/background/generation/scenario"
ITEM = {"imageFileUrl": "https://example.com/p.jpg", "modelNum": "mod001", "width": 800, "height": 800, "imageNum": 2}


class ClientTest(unittest.TestCase):
    @mockserver.mocked()                    # a fresh in-process fake per call, passed last
    def test_retry_after_a_rate_limit(self, fake):
        fake.inject(501)
        first = requests.post(fake.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=5).json()
        again = requests.post(fake.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=5).json()
        self.assertEqual([first["resCode"], again["resCode"]], [501, 200])

    def test_any_http_client_against_a_live_fake(self):
        with mockserver.running(task_duration=0) as fake:   # 127.0.0.1, a free port, a thread
            answer = requests.post(fake.url + SUBMIT, json={"requestParams": [ITEM]}, timeout=5).json()
        self.assertTrue(answer["success"])
