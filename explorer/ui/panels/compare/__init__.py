"""The Compare dock: this set against another set of the same items."""
