"""The pure core: event models, timestamps, the reducer, the event-log rules and the sync-state
transitions. Nothing here reads a clock, touches storage or the network, or imports ``js``."""
