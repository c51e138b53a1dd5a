"""ECS: clusters, task definitions, services with a scheduler, tasks as real process units."""
