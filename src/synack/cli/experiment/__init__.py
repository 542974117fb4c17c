"""``synack experiment ...``: experiments on the simulator, one module per subcommand."""
