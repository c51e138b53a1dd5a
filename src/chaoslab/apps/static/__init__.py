"""A database-free responder for load-balancer benchmarks."""
