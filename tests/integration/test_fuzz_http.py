"""The fast subset of `make fuzz`: every family of hostile input, every channel."""
import pytest

from tests.support.fuzzing import fuzzable_assistant, run
from tests.support.servers import MODEL


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    with fuzzable_assistant(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


def test_a_few_hundred_hostile_inputs_break_nothing(fuzz_target):
    assistant, telegram, zalo = fuzz_target
    report = run(assistant, n=360, seconds=240, concurrency=8,
                 platform_texts=lambda: [str(m.get("text") or "")
                                         for m in telegram.sent() + zalo.sent()])
    assert len(report.by_family) >= 10, report.by_family
    assert report.failures == 0, "\n".join(
        report.lines() + report.server_errors + report.timeouts + report.forged_accepted
        + report.markup_echoed + report.disclosures)
