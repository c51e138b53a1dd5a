"""The lab's live state in the Prometheus exposition format (docs/prometheus.md).

Nothing here keeps state of its own: each scrape reads the rooms as they are (target health,
alarm and unit states, experiments, the undo journal, database roles) plus the running totals
the ALB already keeps per request.
"""
