"""The plan metrics dashboard in a real browser (Debian's Chromium via Playwright, the demo
portal on loopback): every metric's charts are drawn over its tables, and the page passes
axe-core at desktop and phone width."""

from __future__ import annotations

from browsing import PHONE, audit, shoot  # type: ignore[import-not-found]


def test_the_metrics_dashboard_draws_every_chart(page, demo):  # type: ignore[no-untyped-def]
    response = page.goto(f"{demo['url']}/metrics")
    assert response.status == 200
    canvases = page.locator(".chart-canvas")
    count = canvases.count()
    assert count >= 20  # over time and by agency, for the plan's metrics
    page.wait_for_function(
        f"document.querySelectorAll(\".chart-canvas[data-drawn='yes']\").length === {count}",
        timeout=30_000,
    )
    assert page.locator(".chart-canvas svg .mark-line path").count() > 0
    assert page.locator(".chart-canvas svg .mark-rect path").count() > 0
    assert page.get_by_role("heading", name="Goal 2: Better, fresher data").is_visible()
    on_schedule = page.locator("article#updates-on-schedule")
    assert "%" in on_schedule.get_by_role("heading", level=3).inner_text()
    # The numbers are there for those who cannot see the chart, one click (or key) away.
    on_schedule.locator("summary", has_text="The numbers by month").click()
    assert on_schedule.locator("tbody tr").first.is_visible()
    violations = audit(page)
    shoot(page, "metrics")
    assert violations == []
    page.set_viewport_size(PHONE)
    assert audit(page) == []
