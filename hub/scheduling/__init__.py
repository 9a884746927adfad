"""Schedules from the config, run by APScheduler inside ``hub serve``."""
