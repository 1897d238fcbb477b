"""Requests: public dataset suggestions, interagency data requests and their stages, sharing
agreements and the registry of legal authorities that govern data.

Each workflow is a module here; the tables are in `catalog/sharing.py`.
"""
