"""Pure admissions logic: no Kafka, database, web or clock imports; decisions return values.

- HL7 on the ACK path: ``hl7_reader`` (lazy reader), ``hl7_time``, ``adt_fields`` (extraction),
  ``validation`` (table 0357 issues), ``ack`` (ACK builder), ``adt_event`` (→ AdtEventV2, JSON too);
  ``hl7_full`` is python-hl7's full parse for work off the ACK path.
- Encounter rules: ``encounters`` (fold in event-time order), ``readmissions``, ``transitions``
  (TCM clock), ``alerts``, ``census``, ``matching`` (crosswalk), ``rules`` (parameters),
  ``patient_state`` (persisted state), ``reconcile`` (apply ADT / roster → events) and ``merges``
  (A40 merges, adoption of unmatched patients).
"""
