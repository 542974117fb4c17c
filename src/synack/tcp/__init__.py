"""The sans-I/O TCP core (RFC 9293): connections, endpoint, timers; no I/O."""
