"""Dramatiq broker and actors; each actor calls one core service."""
