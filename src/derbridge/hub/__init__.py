"""The integration hub: durable, observable, idempotent message flows between the program system and DERMS."""
