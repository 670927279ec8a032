"""Results: reads stored runs as numbers and tables: values, spreads over seeds, verdicts.

``values.py`` (what a reference can name in a result), ``spread.py`` (statistics over seeds:
t intervals, Welch's and paired t, TOST, Holm), ``log_table.py`` (training logs as epoch tables),
``summary_table.py`` (model summaries as tables).
"""
