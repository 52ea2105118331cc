"""The JSON API: pydantic models validate requests and generate /api/openapi.json."""
