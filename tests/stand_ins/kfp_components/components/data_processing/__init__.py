"""data_processing components (the real __init__ imports nothing)."""
