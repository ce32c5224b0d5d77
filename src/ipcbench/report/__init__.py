"""The HTML report: plots.py draws the figures, html.py fills templates/report.html."""
