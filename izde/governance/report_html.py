"""The transparency report as one self-contained HTML page: tables and charts embedded as PNG."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from izde.governance.transparency import DEFINITIONS, Report

_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}img{max-width:100%}"
)
_COLUMNS = ("sessions", "hours", "faces", "alerts", "confirmed", "false_alerts", "pending", "false_alert_rate")


def _chart(title: str, labels: list[str], series: dict[str, list[float]]) -> str:
    """A grouped bar chart as a data: URI. Uses the Agg canvas directly: no display, no global pyplot state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(series))
    for k, (name, values) in enumerate(series.items()):
        ax.bar([i + k * width for i in range(len(labels))], values, width, label=name)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels, rotation=30, ha="right")
    ax.set_title(title)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}" if v >= 1 or v == 0 else f"{v:.1%}"
    return html.escape(str(v))


def _table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in _COLUMNS)
    body = "".join(
        f"<tr><td>{html.escape(k)}</td>" + "".join(f"<td>{_cell(v.get(c))}</td>" for c in _COLUMNS) + "</tr>"
        for k, v in rows.items()
    )
    return f"<h2>{html.escape(title)}</h2><table><tr><th></th>{head}</tr>{body}</table>"


def render(report: Report) -> str:
    d = report.as_dict()
    months = list(d["per_month"])
    charts = ""
    if months:
        pm = d["per_month"]
        hours = {"hours": [float(pm[m]["hours"]) for m in months]}
        charts += f'<img alt="hours per month" src="{_chart("Hours of operation", months, hours)}">'
        alerts = {k: [float(pm[m][k]) for m in months] for k in ("alerts", "confirmed", "false_alerts")}
        charts += f'<img alt="alerts per month" src="{_chart("Alerts and their review", months, alerts)}">'
    cams = list(d["per_camera"])
    if cams:
        faces = {"faces": [float(d["per_camera"][c]["faces"]) for c in cams]}
        charts += f'<img alt="faces per camera" src="{_chart("Faces analysed per camera", cams, faces)}">'
    a = d["authorisations"]
    period = f"{d['period']['from']} to {d['period']['to']}"
    chain = {True: "verified intact", False: "BROKEN", None: "not verified"}[d["audit_chain_ok"]]
    defs = "".join(
        f"<dt>{html.escape(k.replace('_', ' '))}</dt><dd>{html.escape(v)}</dd>" for k, v in DEFINITIONS.items()
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>izde transparency report {period}'
        f"</title><style>{_STYLE}</style></head><body><h1>Transparency report</h1>"
        f"<p>Period {period}; generated {d['generated_at']}. Aggregate figures only: this report holds no "
        f"personal data. Audit chain: {chain}.</p>"
        f"<h2>Authorisations</h2><p>{a['requested']} requested, {a['granted']} granted, {a['rejected']} rejected, "
        f"{a['pending']} pending.</p><p>{d['cameras']} camera(s) used.</p>"
        + _table("Totals", {"all cameras": d["total"]})
        + charts
        + _table("Per month", d["per_month"])
        + _table("Per camera", d["per_camera"])
        + f"<h2>Definitions</h2><dl>{defs}</dl></body></html>\n"
    )
