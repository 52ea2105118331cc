"""The live layer: GET /ws, fed by the event stream (LISTEN/NOTIFY + the event table)."""
