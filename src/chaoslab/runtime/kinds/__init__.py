"""Unit runtimes: how a unit's programs are really run. `base` is the interface the services and
`ComputeUnit` see, `process` runs them as process groups on this host, `fake` only pretends, so
unit tests can drive ECS and EC2 rules without starting anything."""
