"""``smslab simulate``: the whole lab in virtual time (what-if files, the offline world, its report)."""
