"""Presentation: renders lists of result records (entersys.results) as text, JSON, HTML,
SARIF 2.1.0 or JUnit XML, and counterexample traces as ITF. No checker imports this
package."""

from entersys.report.html import render_html
from entersys.report.json_out import render_json
from entersys.report.junit import render_junit
from entersys.report.sarif import render_sarif
from entersys.report.text import render_text

RENDERERS = {"text": render_text, "json": render_json, "sarif": render_sarif,
             "junit": render_junit, "html": render_html}

__all__ = ["RENDERERS", "render_html", "render_json", "render_junit", "render_sarif",
           "render_text"]
