"""CloudWatch Logs: log groups, streams and events, with the paging and filtering clients rely on."""
