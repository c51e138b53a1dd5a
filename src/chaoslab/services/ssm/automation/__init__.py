"""SSM Automation: runbooks (schemaVersion 0.3 documents) run step by step for real.

`runbook.py` reads a document into steps (pure), `interpolate.py` resolves `{{ name }}`
references and `selector.py` picks step outputs (both pure), `actions.py` runs one step of each
kind against the lab, `script.py` runs an `aws:executeScript` handler in a subprocess,
`aws_call.py` makes an `aws:executeAwsApi` call in-process after the IAM check, `runner.py`
walks the steps (attempts, timeouts, onFailure) and `executions.py` keeps the executions and
the documents users create.
"""
