"""Ready-made wiring for common host libraries (each imported only when used)."""
