"""The Schleswig-Holstein portal's rules on creating and updating a dataset, for organizations
whose name starts with ``sh-`` (tests/dcat/README.md says what the portal's extension does):

- at least one group; ``issued`` and ``temporal_start`` present and date-like; ``temporal_end``
  not before the start; a title, a licence, and each resource with a ``format`` (and a ``url``
  unless it is an upload, whose url CKAN sets later);
- ``licenseAttributionByText`` required for a licence whose title has "Namensnennung" and
  refused for every other licence (the portal's licence register);
- ``spatial_uri`` one of the portal's keys (tests/dcat/sh-portal/spatial_mapping.tsv);
- dates stored as ``YYYY-MM-DDTHH:MM:SS`` (UTC), whatever form they came in;
- a new dataset's ``name`` replaced by one made from its title, with a counter when taken.
"""
import datetime
import json
import pathlib
import re

import ckan.plugins as plugins
import ckan.plugins.toolkit as toolkit

DCAT_DIR = pathlib.Path(__file__).resolve().parents[3] / "dcat" / "sh-portal"
DATE_EXTRAS = ("issued", "modified", "temporal_start", "temporal_end")


def _licences():
    entries = json.loads((DCAT_DIR / "licenses.json").read_text(encoding="utf-8"))
    return {e["id"]: e["title"] for e in entries}


def _spatial_keys():
    lines = (DCAT_DIR / "spatial_mapping.tsv").read_text(encoding="utf-8").splitlines()
    return {line.split("\t", 1)[0] for line in lines if line}


LICENCES = _licences()
SPATIAL = _spatial_keys()


def _applies(context, data_dict):
    org = data_dict.get("owner_org")
    if not org and data_dict.get("id"):
        existing = toolkit.get_action("package_show")(dict(context, ignore_auth=True), {"id": data_dict["id"]})
        org = existing.get("owner_org")
    if not org:
        return False
    name = toolkit.get_action("organization_show")(dict(context, ignore_auth=True), {"id": org})["name"]
    return name.startswith("sh-")


def _parse_date(text):
    text = text.strip().replace("Z", "+00:00")
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0)


def _check_and_normalise(data_dict):
    errors = {}
    extras = {e["key"]: e for e in data_dict.get("extras", [])}
    if not data_dict.get("groups"):
        errors["groups"] = ["at least one group is required"]
    if not data_dict.get("title"):
        errors["title"] = ["title is required"]
    licence = data_dict.get("license_id")
    if not licence:
        errors["license_id"] = ["licence is required"]
    dates = {}
    for key in DATE_EXTRAS:
        if key in extras:
            try:
                dates[key] = _parse_date(extras[key]["value"])
                extras[key]["value"] = dates[key].isoformat()
            except ValueError:
                errors[key] = [f"not a date: {extras[key]['value']}"]
    for key in ("issued", "temporal_start"):
        if key not in extras:
            errors[key] = [f"{key} is required"]
    if "temporal_start" in dates and "temporal_end" in dates and dates["temporal_end"] < dates["temporal_start"]:
        errors["temporal_end"] = ["temporal_end is before temporal_start"]
    needs_attribution = "Namensnennung" in LICENCES.get(licence or "", "")
    attribution = extras.get("licenseAttributionByText", {}).get("value")
    if needs_attribution and not attribution:
        errors["licenseAttributionByText"] = ["the licence requires licenseAttributionByText"]
    if attribution and not needs_attribution:
        errors["licenseAttributionByText"] = ["the licence does not take licenseAttributionByText"]
    spatial = extras.get("spatial_uri", {}).get("value")
    if spatial and spatial not in SPATIAL:
        errors["spatial_uri"] = ["uri unknown"]
    # (An upload's url is set by CKAN after this check, so only a link's is looked at.)
    for i, resource in enumerate(data_dict.get("resources", []) or []):
        if not resource.get("url") and not resource.get("url_type") and "upload" not in resource:
            errors[f"resources[{i}].url"] = ["url is required"]
        if not resource.get("format"):
            errors[f"resources[{i}].format"] = ["format is required"]
    if errors:
        raise toolkit.ValidationError(errors)


def _name_from_title(context, title):
    base = title.lower()
    for old, new in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        base = base.replace(old, new)
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:90] or "datensatz"
    name, counter = base, 1
    show = toolkit.get_action("package_show")
    while True:
        try:
            show(dict(context, ignore_auth=True), {"id": name})
        except toolkit.ObjectNotFound:
            return name
        counter += 1
        name = f"{base}{counter}"


@toolkit.chained_action
def package_create(original, context, data_dict):
    if _applies(context, data_dict):
        _check_and_normalise(data_dict)
        data_dict["name"] = _name_from_title(context, data_dict.get("title", ""))
    return original(context, data_dict)


@toolkit.chained_action
def package_update(original, context, data_dict):
    if _applies(context, data_dict):
        _check_and_normalise(data_dict)
    return original(context, data_dict)


class PortalRules(plugins.SingletonPlugin):
    plugins.implements(plugins.IActions)

    def get_actions(self):
        return {"package_create": package_create, "package_update": package_update}
