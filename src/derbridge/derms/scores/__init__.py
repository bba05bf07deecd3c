"""Device scores and eligibility from the program system's daily score file (F7): score sets, one in force."""
