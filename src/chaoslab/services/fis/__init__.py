"""AWS Fault Injection Service: catalogue, template validation, API and the experiment engine."""
