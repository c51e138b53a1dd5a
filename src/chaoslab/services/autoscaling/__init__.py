"""Auto Scaling groups: desired capacity kept with real instances, replaced per the health-check type."""
