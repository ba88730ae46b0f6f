"""Presentation: renders lists of result records (entersys.results) as text or JSON, and
counterexample traces as ITF. No checker imports this package."""

from entersys.report.json_out import render_json
from entersys.report.text import render_text

RENDERERS = {"text": render_text, "json": render_json}

__all__ = ["RENDERERS", "render_json", "render_text"]
