"""Modal and modeless dialogs of the main window."""
