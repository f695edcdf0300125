"""Outgoing messages (SMS) shared by the feedback and panel domains.

Import from ``server.messaging.sms`` (gateways, results, delivery reports) and
``server.messaging.gsm7`` (message length and parts).
"""
