"""Runnable parts and the write side: recorder, runtime settings and the ``talkstream`` CLI."""
