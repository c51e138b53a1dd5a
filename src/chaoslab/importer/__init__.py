"""`chaoslab import`: an architecture described elsewhere (a CloudFormation template, Terraform's
`show -json`, a live account read through boto3) turned into a stack file, FIS template files and
alarms the lab runs. Each source module reads its input into the shared `model.Architecture`;
`writer.py` turns that into files. What cannot be translated is kept as a `Note`, never dropped."""
