"""Device status checks (F6): the program system asks, DERMS asks the head end and answers later."""
