"""Programs' rule sets as the program system sends them (F2), and the rules a planner may override."""
