"""IAM: roles, policies and the policy evaluation FIS uses to check its experiment role."""
