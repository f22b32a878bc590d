"""Energy and latency accounting from operation counts and a hardware profile, and its reports.

Modules: ``accounting`` (counts x per-event prices, static power, the report), ``figures``
(energies with a low-high range), ``ann`` (the 45 nm ANN baseline, compute only and with memory
traffic), ``timing`` (time per inference, static energy), ``neurobench`` (NeuroBench's metrics),
``rows`` (the tables every renderer draws), ``report`` (simulate + terminal/Markdown/JSON) and
``html``.

``write_html`` (matplotlib) is imported on first use: ``from ttfs_deploy.energy import write_html``.
"""

from ttfs_deploy.energy.accounting import EnergyReport, account
from ttfs_deploy.energy.report import energy_report, render_table, to_json, to_markdown

__all__ = ["EnergyReport", "account", "energy_report", "render_table", "to_json", "to_markdown", "write_html"]


def __getattr__(name):
    if name == "write_html":
        from ttfs_deploy.energy.html import write_html
        return write_html
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
