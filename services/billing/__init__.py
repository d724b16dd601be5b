"""Billing service: contracts as data, PMPM fees, cost of care net of carve-outs, bonus and
shared-savings estimates in an append-only ledger, month close and statements.

``services.billing.domain`` holds the pure core (no Kafka, no database, no I/O);
``services.billing.contracts`` ships example contract files and a file loader.
"""
