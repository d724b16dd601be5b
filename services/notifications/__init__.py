"""Notifications: deliver admissions, discharges, transitions, gap changes and overdue tasks to
the systems where clinicians work (FHIR R4 Subscriptions backport, Da Vinci Unsolicited
Notifications, Standard Webhooks, HL7 v2 ADT forward over MLLP), durably, with a delivery log."""
