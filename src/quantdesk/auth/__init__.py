"""Accounts and security."""
