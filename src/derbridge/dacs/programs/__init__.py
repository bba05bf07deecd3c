"""Program types, programs and their rules, and the rules sync to DERMS (F2)."""
