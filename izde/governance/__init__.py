"""Safeguards as runtime objects: roles and the permission check, authorisations, reviews, audit, retention."""
