"""Energy and latency accounting from operation counts and a hardware profile, and its reports.

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
