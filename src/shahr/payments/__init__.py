"""Payments: wallet, double-entry ledger, Shaparak-style PSP port and sandbox, refunds."""
