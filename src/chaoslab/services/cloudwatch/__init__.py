"""CloudWatch metrics and alarms: a real metric store and alarms that are really evaluated."""
