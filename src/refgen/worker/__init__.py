"""Generation workers: the loop that claims and runs tasks, its lease, and the process supervisor."""
