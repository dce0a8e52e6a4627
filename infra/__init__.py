"""Adapters and wiring: the event store, view database, Redis, the dispatcher and the engine."""
