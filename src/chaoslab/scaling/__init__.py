"""Scaling policies as Application Auto Scaling and EC2 Auto Scaling run them: one engine behind
both services' APIs. `rules` is the arithmetic (target tracking's formula, step adjustments,
rounding, bounds), `tracking` the CloudWatch alarms a target-tracking policy creates, `engine` the
part that listens to alarms and changes a scalable target's capacity; `schedule` and `scheduled`
are scheduled scaling's times and the loop that runs due actions (docs/autoscaling.md)."""
