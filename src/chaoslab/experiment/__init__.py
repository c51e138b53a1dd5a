"""Beyond FIS: experiment files, workload and probe, steady state and hypothesis, the integrity
ledger, measured windows and the run itself (docs/experiments.md). Entry points:
`schema.load_experiment` / `schema.validate_experiment_file`, `session.run_experiment` (`chaoslab run`, through `chaoslab.api.run_experiment`), `session.run_file` (the same with `chaoslab run`'s exit code)
and `demo.run_demo` (`chaoslab demo`)."""
