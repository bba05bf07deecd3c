"""DERMS's head-end gateway (the role of the vendor's Live Energy Connect) and simulated aggregator clouds.

model.py says what a head end answers; simulator.py is an aggregator's cloud with its thermostat fleet;
gateway.py routes each device to its head-end system by name.
"""
