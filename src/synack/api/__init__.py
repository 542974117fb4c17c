"""User-facing APIs over the core: the real-time asyncio runtime, asyncio streams and blocking sockets."""
