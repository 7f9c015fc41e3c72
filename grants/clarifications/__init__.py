"""Clarification requests: a manager asks about a submitted application; the lead answers with
addenda (text and files, each answer with its own SHA-256); the frozen submission never changes."""
