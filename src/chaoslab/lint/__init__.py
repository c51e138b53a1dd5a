"""`chaoslab validate`'s file handling: reading files as their consumers do (`source`), telling what
a file is (`shapes`, `cfn`) and writing the verdicts (`output`). The rules live in
`chaoslab.services.fis` (validation, catalogue, runnable)."""
