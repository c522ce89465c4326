"""The manager's dashboard, mounted at `/dashboard` behind the reviewers' login.

Everything is computed from `ClaimService.dashboard_data(since, until)`; the figures are plain matplotlib
(object API, no pyplot global state, so concurrent sessions cannot draw into each other's figures).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import gradio as gr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from claims import lifecycle
from ui._html import esc, fmt_duration, humanize, parse_time
from vision_models.labels import DAMAGE_LABELS

PERIODS: dict[str, timedelta] = {
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "Last 90 days": timedelta(days=90),
    "Last 365 days": timedelta(days=365),
}
# Statuses that mean a person took (or is taking) the decision.
# Codes that say how a claim was resolved, not why it needed a person.
NOT_ESCALATION_REASONS = {"default_for_label", "out_of_stock_refund"}
COLORS = {"auto": "#4f46e5", "person": "#f59e0b", "open": "#94a3b8", "breached": "#dc2626", "met": "#16a34a"}
LABEL_COLORS = dict(zip(DAMAGE_LABELS, ("#16a34a", "#a16207", "#d97706", "#0284c7", "#dc2626", "#7c3aed")))


def period_bounds(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or datetime.now(UTC)
    return now - PERIODS.get(period, PERIODS["Last 30 days"]), now


def _figure(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(6.4, 3.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _empty(ax: Axes, text: str = "No data in this period") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#64748b")
    ax.set_xticks([])
    ax.set_yticks([])


def _count_axis(ax: Axes, ylabel: str, **legend: Any) -> None:
    """Whole-number counts up the y axis, its label, and a frameless legend."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.legend(**{"frameon": False, "fontsize": 8, **legend})


def buckets(since: datetime, until: datetime) -> tuple[list[datetime], timedelta, str]:
    """Every bucket start of the period: hours for a day or two, days up to 90 days, weeks beyond."""
    if until - since <= timedelta(days=2):
        step, fmt = timedelta(hours=1), "%H:00"
        start = since.replace(minute=0, second=0, microsecond=0)
    elif until - since <= timedelta(days=90):
        step, fmt = timedelta(days=1), "%d %b"
        start = since.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        step, fmt = timedelta(weeks=1), "%d %b"
        start = (since - timedelta(days=since.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = []
    while start <= until:
        starts.append(start)
        start += step
    return starts, step, fmt


def _decision_hours(claim: dict) -> float | None:
    start, end = parse_time(claim.get("created_at")), parse_time(claim.get("decided_at"))
    return (end - start).total_seconds() / 3600 if start and end else None


def summarize(data: dict) -> dict:
    """The headline numbers; a pure function of dashboard_data, so it is easy to test."""
    claims = data.get("claims") or []
    decided = [c for c in claims if c.get("decided_at")]
    auto = [c for c in claims if c.get("automated")]
    escalated = [c for c in claims if c.get("status") in lifecycle.ESCALATED]
    auto_hours = [h for c in auto if (h := _decision_hours(c)) is not None]
    person_hours = [h for c in escalated if (h := _decision_hours(c)) is not None]
    return {
        "claims": len(claims),
        "decided": len(decided),
        "automated": len(auto),
        "automation_rate": len(auto) / len(claims) if claims else None,
        "escalated": len(escalated),
        "waiting_for_photos": sum(1 for c in claims if c.get("status") == "needs_more_photos"),
        "open": len(claims) - len(decided),
        "sla_breaches": sum(1 for c in claims if c.get("sla_breached")),
        "median_hours_auto": statistics.median(auto_hours) if auto_hours else None,
        "median_hours_person": statistics.median(person_hours) if person_hours else None,
        "escalation_reasons": Counter(
            r
            for c in escalated
            for r in c.get("reasons") or []
            if r not in NOT_ESCALATION_REASONS and not r.startswith("intent_")
        ),
    }


def kpi_html(summary: dict) -> str:
    def pct(x):
        return "–" if x is None else f"{x:.0%}"

    def hrs(x):
        return "–" if x is None else fmt_duration(x * 3600) or "under 1 min"

    tiles = [
        ("Claims filed", summary["claims"]),
        ("Settled automatically", pct(summary["automation_rate"])),
        ("Sent to a person", summary["escalated"]),
        ("Waiting for better photos", summary["waiting_for_photos"]),
        ("Median time to decision, automatic", hrs(summary["median_hours_auto"])),
        ("Median time to decision, by a person", hrs(summary["median_hours_person"])),
        ("SLA breaches", summary["sla_breaches"]),
        ("Still open", summary["open"]),
    ]
    return (
        '<div class="cb-kpis" id="kpis">'
        + "".join(f'<div class="cb-kpi"><b>{esc(v)}</b><small>{esc(k)}</small></div>' for k, v in tiles)
        + "</div>"
    )


def automation_figure(data: dict, since: datetime, until: datetime) -> Figure:
    fig, ax = _figure("Claims filed: settled automatically, by a person, still open")
    claims = data.get("claims") or []
    if not claims:
        _empty(ax)
        return fig
    starts, step, fmt = buckets(since, until)
    counts: list[Counter[str]] = [Counter() for _ in starts]
    for c in claims:
        created = parse_time(c.get("created_at"))
        if not created or created < starts[0]:
            continue
        index = min(int((created - starts[0]) / step), len(starts) - 1)
        kind = "auto" if c.get("automated") else "person" if c.get("decided_at") else "open"
        counts[index][kind] += 1
    xs = range(len(starts))
    bottom = [0] * len(starts)
    for kind, name in (("auto", "automatic"), ("person", "by a person"), ("open", "still open")):
        ys = [count[kind] for count in counts]
        ax.bar(xs, ys, bottom=bottom, color=COLORS[kind], label=name, width=0.8)
        bottom = [b + y for b, y in zip(bottom, ys)]
    every = max(1, len(starts) // 10)
    ax.set_xticks(list(xs)[::every], [s.strftime(fmt) for s in starts][::every], rotation=45, ha="right")
    _count_axis(ax, "claims")
    return fig


def reasons_figure(summary: dict) -> Figure:
    fig, ax = _figure("Why claims went to a person")
    reasons = summary["escalation_reasons"].most_common(10)
    if not reasons:
        _empty(ax, "No escalations in this period")
        return fig
    names = [humanize(r) for r, _ in reasons][::-1]
    ax.barh(names, [n for _, n in reasons][::-1], color=COLORS["person"])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("claims")
    return fig


DECISION_TIME_BINS: tuple[tuple[str, float], ...] = (
    ("< 1 min", 1 / 60),
    ("1-10 min", 10 / 60),
    ("10-60 min", 1.0),
    ("1-4 h", 4.0),
    ("4-24 h", 24.0),
    ("1-3 days", 72.0),
    ("> 3 days", float("inf")),
)


def decision_time_figure(data: dict) -> Figure:
    fig, ax = _figure("Time from submission to decision")
    counts: dict[str, Counter[str]] = {"auto": Counter(), "person": Counter()}
    for c in data.get("claims") or []:
        hours = _decision_hours(c)
        if hours is None:
            continue
        name = next(n for n, upper in DECISION_TIME_BINS if hours < upper)
        counts["auto" if c.get("automated") else "person"][name] += 1
    if not any(counts.values()):
        _empty(ax, "No decisions in this period")
        return fig
    names = [n for n, _ in DECISION_TIME_BINS]
    xs = range(len(names))
    ax.bar(
        [x - 0.2 for x in xs], [counts["auto"][n] for n in names], width=0.4, color=COLORS["auto"], label="automatic"
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [counts["person"][n] for n in names],
        width=0.4,
        color=COLORS["person"],
        label="by a person",
    )
    ax.set_xticks(list(xs), names)
    _count_axis(ax, "claims")
    return fig


def sla_figure(data: dict) -> Figure:
    fig, ax = _figure("Cases for a person: SLA met vs breached")
    counts: dict[str, Counter] = defaultdict(Counter)
    for c in data.get("claims") or []:
        if c.get("automated") or not c.get("sla_due_at"):
            continue
        counts[c.get("priority") or "normal"]["breached" if c.get("sla_breached") else "met"] += 1
    if not counts:
        _empty(ax, "No cases for a person in this period")
        return fig
    prios = [p for p in ("high", "normal") if p in counts] + [p for p in counts if p not in ("high", "normal")]
    met = [counts[p]["met"] for p in prios]
    breached = [counts[p]["breached"] for p in prios]
    ax.bar(prios, met, color=COLORS["met"], label="met")
    ax.bar(prios, breached, bottom=met, color=COLORS["breached"], label="breached")
    _count_axis(ax, "cases")
    return fig


def workflow_figure(data: dict) -> Figure:
    fig, ax = _figure("Refund and replacement workflows by state")
    counts = Counter((w.get("kind", "?"), w.get("state", "?")) for w in data.get("workflows") or [])
    if not counts:
        _empty(ax, "No workflows in this period")
        return fig
    items = sorted(counts.items())
    names = [f"{k} · {s}" for (k, s), _ in items]
    colors = [
        COLORS["breached"] if any(w in s for w in ("fail", "dead", "error")) else COLORS["auto"] for (k, s), _ in items
    ]
    ax.barh(names, [n for _, n in items], color=colors)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("workflows")
    return fig


def confidence_figure(data: dict, threshold: float) -> Figure:
    fig, ax = _figure("Vision model confidence per photo")
    rows = data.get("photo_confidences") or []
    if not rows:
        _empty(ax, "No photos in this period")
        return fig
    by_label = defaultdict(list)
    for r in rows:
        by_label[r.get("label", "?")].append(float(r.get("confidence") or 0.0))
    labels = [lab for lab in DAMAGE_LABELS if lab in by_label] + [lab for lab in by_label if lab not in DAMAGE_LABELS]
    ax.hist(
        [by_label[lab] for lab in labels],
        bins=[i / 20 for i in range(21)],
        stacked=True,
        color=[LABEL_COLORS.get(lab, "#64748b") for lab in labels],
        label=labels,
    )
    ax.axvline(threshold, color="#111827", linestyle="--", linewidth=1)
    ax.text(threshold, ax.get_ylim()[1] * 0.95, " to a person below", fontsize=8, va="top")
    ax.set_xlim(0, 1)
    ax.set_xlabel("calibrated confidence")
    _count_axis(ax, "photos", fontsize=7, ncols=2)
    return fig


class DashboardHandlers:
    def __init__(self, service):
        self.service = service

    def refresh(self, period: str):
        since, until = period_bounds(period)
        data = self.service.dashboard_data(since, until)
        summary = summarize(data)
        return (
            kpi_html(summary),
            automation_figure(data, since, until),
            reasons_figure(summary),
            decision_time_figure(data),
            sla_figure(data),
            workflow_figure(data),
            confidence_figure(data, self.service.settings.vision_confidence_threshold),
        )


def build_dashboard_app(service) -> gr.Blocks:
    h = DashboardHandlers(service)
    with gr.Blocks(title="Claims dashboard", analytics_enabled=False) as demo:
        gr.HTML(
            '<div class="cb-header"><div><h1>Claims dashboard</h1><div class="cb-sub">How the bot and the '
            'team are doing.</div></div><div style="margin-left:auto"><a href="/review/">Review desk</a> · '
            '<a href="/dashboard/logout">Sign out</a></div></div>'
        )
        with gr.Row():
            period = gr.Dropdown(list(PERIODS), value="Last 30 days", label="Period", scale=3, elem_id="period")
            refresh = gr.Button("Refresh", scale=1)
        kpis = gr.HTML()
        with gr.Row():
            automation = gr.Plot(label="Automation", format="png", show_label=False)
            reasons = gr.Plot(label="Escalation reasons", format="png", show_label=False)
        with gr.Row():
            decision_time = gr.Plot(label="Time to decision", format="png", show_label=False)
            sla = gr.Plot(label="SLA", format="png", show_label=False)
        with gr.Row():
            workflows = gr.Plot(label="Workflows", format="png", show_label=False)
            confidence = gr.Plot(label="Vision confidence", format="png", show_label=False)
        outputs = [kpis, automation, reasons, decision_time, sla, workflows, confidence]
        gr.on([demo.load, period.change, refresh.click], h.refresh, period, outputs, api_visibility="private")
    demo.queue(default_concurrency_limit=2)
    return demo
