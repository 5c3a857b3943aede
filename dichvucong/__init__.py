"""The assistant's domain logic, free of Rasa.

Everything here imports neither ``rasa`` nor ``rasa_sdk`` nor the adapters
(``actions``, ``bot``): the knowledge base, dossiers, Vietnamese text, privacy,
inbound message checks and the names shared with ``domain/*.yml`` can be used
and tested without a trained model or a running server.
"""
