"""Synthetic population generator: members, ADT messages, 837P/837I and CSV claims, a timeline."""
