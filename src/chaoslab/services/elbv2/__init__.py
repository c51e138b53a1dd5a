"""ELBv2 (Application Load Balancer): resources, semantics and API operations."""
