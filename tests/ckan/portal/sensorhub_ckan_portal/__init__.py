"""A test fixture for sensorhub's publisher tests: what German portals add to a plain CKAN.

- ``profile``: an RDF profile run after ckanext-dcat's ``euro_dcat_ap_2``, writing the
  DCAT-AP.de properties that GovData's own profile (ckanext-dcatde) writes from a dataset's
  extras, as the Schleswig-Holstein portal's profile does (README in ``tests/dcat``).
- ``rules``: the Schleswig-Holstein portal's checks on ``package_create`` and
  ``package_update``, for the organizations whose name starts with ``sh-``.

Written for these tests from the rules in tests/dcat/README.md; not the portals' code.
"""
