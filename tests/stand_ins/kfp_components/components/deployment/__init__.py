"""deployment components (the real __init__ imports nothing)."""
