"""Customer event opt-outs (F12): an agent takes a reserved device out of an upcoming event."""
