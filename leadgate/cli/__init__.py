"""The command line: every command, and every piece of terminal rendering and process start-up it needs."""
