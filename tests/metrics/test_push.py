"""mab.metrics.push against Debian's real Pushgateway on a loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mab.errors import UserError
from mab.metrics.build import BuildFacts, registry_for
from mab.metrics.push import check_url, grouping_key, push
from tests.actions.cases import AMD, ARM, CASES
from tests.metrics import servers

IMAGE = "localhost:5000/acme/app"


def gateway_samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = servers.get(f"{url}/metrics").decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name.startswith("mab_")
    }


def test_push_groups_by_image_and_platforms(tmp_path: Path) -> None:
    summary = CASES["success"]()
    registry = registry_for(summary, BuildFacts(image=IMAGE))
    with servers.pushgateway(tmp_path) as url:
        grouping = grouping_key(IMAGE, (ARM, AMD))
        assert grouping == {"image": IMAGE, "platforms": "linux-amd64+linux-arm64"}
        assert push(url, registry, grouping) is None
        got = gateway_samples(url)
    labels = {("image", IMAGE), ("platform", ARM), ("job", "mab"), ("instance", "")}
    labels.add(("platforms", "linux-amd64+linux-arm64"))
    ratio = next(p.hit_ratio for p in summary.platforms if p.platform == ARM)
    assert got[("mab_cache_hit_ratio", frozenset(labels))] == round(ratio, 3)


def test_two_per_platform_jobs_keep_their_own_groups(tmp_path: Path) -> None:
    """Native CI runs one job per platform; the second push must not replace the first."""
    summary = CASES["success"]()
    with servers.pushgateway(tmp_path) as url:
        for platform in (AMD, ARM):
            one = type(summary)(
                summary.status,
                summary.duration_s,
                tuple(p for p in summary.platforms if p.platform == platform),
                tuple(s for s in summary.steps if platform in s.platforms),
                (),
                None,
            )
            reg = registry_for(one, BuildFacts(image=IMAGE))
            assert push(url, reg, grouping_key(IMAGE, (platform,))) is None
        got = gateway_samples(url)
    platforms = {dict(labels)["platform"] for name, labels in got if name == "mab_steps"}
    assert platforms == {AMD, ARM}


def test_a_gateway_that_is_down_is_a_reason_not_an_exception(tmp_path: Path) -> None:
    registry = registry_for(CASES["success"](), BuildFacts(image=IMAGE))
    url = f"http://127.0.0.1:{servers.free_port()}"  # nothing listens there
    reason = push(url, registry, grouping_key(IMAGE, (AMD,)))
    assert reason is not None and "refused" in reason.lower()


def test_credentials_never_reach_a_message() -> None:
    assert check_url("https://bot:s3cret@push.example:9091/") == "https://push.example:9091/"
    with pytest.raises(UserError) as err:
        check_url("ftp://bot:s3cret@push.example")
    assert "s3cret" not in err.value.message


@pytest.mark.parametrize("url", ["push.example:9091", "", "http://", "file:///tmp/x"])
def test_not_an_http_url_is_the_users_to_fix(url: str) -> None:
    with pytest.raises(UserError):
        check_url(url)
