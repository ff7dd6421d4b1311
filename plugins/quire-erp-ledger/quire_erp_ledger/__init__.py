"""Quire connector for general-ledger actuals in the company ERP database."""

from .connector import ErpLedgerConfig, ErpLedgerConnector

__all__ = ["ErpLedgerConfig", "ErpLedgerConnector"]
