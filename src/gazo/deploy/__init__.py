"""Deployment shapes beyond one process: composition only, the request path is the same."""
