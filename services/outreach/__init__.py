"""Outreach: turns care gaps, care transitions and diagnoses into tasks in nurse queues.

``domain/`` holds the pure decisions (task rules, assignment, priority, SLAs, workflow,
permissions). ``rules.yaml`` beside this file is the default task-rule configuration;
parse it with :func:`services.outreach.domain.rules.parse_rules`.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")
