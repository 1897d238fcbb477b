"""HTTP doors: the native JSON API, downloads and data.json (SODA and CKAN join later).

Routes are thin: parse, ask `access`, call a part, shape the answer.
"""
