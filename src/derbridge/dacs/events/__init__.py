"""Program events and their participations: DERMS's events as the program system holds them (F8, one program
event per stage), the devices reserved for each (F9), and cancellations before the start (F10)."""
