"""The plugin's failure report numbers calls per test, as docs/pytest-plugin.md shows: a
test's first call is #1 whatever the tests before it sent to the same session's fake."""

from __future__ import annotations

import re

from test_plugin import PRELUDE, run

pytest_plugins = ["pytester"]


def test_each_failing_tests_report_numbers_its_own_calls_from_one(pytester):
    pytester.makepyfile(
        test_user=PRELUDE
        + """
@pytest.mark.parametrize("name", ["bgmock", "bgmock_responses"])
@pytest.mark.parametrize("earlier", [3, 0])
def test_a_bad_size_after_good_calls(request, name, earlier):
    fake = request.getfixturevalue(name)
    for _ in range(earlier):
        submit(fake)
    answer = submit(fake, dict(ITEM, width=801))
    assert answer["success"]
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    offending = re.findall(r"^#(\d+) POST /ai/image/background/generation/scenario -> resCode 700$", out, re.M)
    # After good calls a report lists the offending call, then the last calls (the same number
    # twice); a test whose only call broke the rules shows it once.
    assert offending == ["4", "4", "4", "4", "1", "1"], out
    assert "#5 " not in out and "#8 " not in out, out
