"""What every package shares: errors, atomic files and locks, running git, the masked
`Secret`, the templates, failpoints. Depends on nothing else in migrator."""
