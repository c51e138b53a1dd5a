"""AWS Systems Manager Run Command for the lab's instances, with the AWSFIS-Run-* documents."""
