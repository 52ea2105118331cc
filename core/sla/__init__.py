"""SLA: policies, deadlines, the watch job. `hooks` is what the conversation use cases call."""
