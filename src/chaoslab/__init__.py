"""chaoslab: AWS Fault Injection Service experiments, for real, on one machine and in CI."""

__version__ = "0.1.0"
