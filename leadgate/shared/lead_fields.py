"""A lead's standard fields: the ones an event, a lead-list record and the marts carry under these names."""

from __future__ import annotations

# The fields that name a person or their company, or are personal data (job title, phone): never a model feature.
IDENTIFYING_FIELDS = ("email", "first_name", "last_name", "job_title", "phone", "company", "company_domain")
# What the lead's company is like: business data that scoring and models may use.
FIRMOGRAPHIC_FIELDS = ("industry", "country", "company_size")
# In this order: a lead list's --map help lists them so, and the raw tables hold them so.
LEAD_FIELDS = IDENTIFYING_FIELDS + FIRMOGRAPHIC_FIELDS
