"""Dock views; each subscribes to AppState and never calls another view."""
