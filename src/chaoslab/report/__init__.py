"""Reports of a run, all pure functions of its journal (docs/journal.md, docs/reports.md)."""

from chaoslab.report.html import render_html, write_html
from chaoslab.report.journal_file import read_journal, write_journal
from chaoslab.report.junit import write_junit
from chaoslab.report.live import LiveView
from chaoslab.report.summary import render_summary

__all__ = ["LiveView", "read_journal", "render_html", "render_summary", "write_html", "write_journal", "write_junit"]
