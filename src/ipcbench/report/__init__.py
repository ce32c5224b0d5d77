"""The HTML report: page.py fills templates/report.html; figures.py is the registry of its
figures (drawn by sweeps.py, heatmaps.py, pattern_plots.py); sections.py, kinds.py and
answer.py build the parts of the page."""
