"""Per department and cycle: how rectification and citizen feedback are going."""
