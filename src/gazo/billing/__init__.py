"""Billing: token accounting and prices for image requests, OpenAI-compatible."""
