"""Command-line actions beyond `desk run`, grouped by area; desk.py wires them into its parser."""
