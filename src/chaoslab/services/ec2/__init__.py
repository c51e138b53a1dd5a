"""EC2: VPCs/subnets (the lab's networks), instances as real process units, the describe/stop subset."""
