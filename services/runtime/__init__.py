"""Runtime wiring: settings from TALKSTREAM_* variables (later: embedded Redis, the runner)."""
