"""DCAT-AP.de properties from a CKAN dataset's extras, added to ckanext-dcat's DCAT-AP 2 graph."""
import json
from decimal import Decimal

from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, XSD

from ckanext.dcat.profiles import RDFProfile
from ckanext.dcat.utils import resource_uri

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


def extras(dataset_dict):
    return {e["key"]: e["value"] for e in dataset_dict.get("extras", [])}


def as_list(value):
    """An extra holding one IRI or a JSON list of them."""
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    return parsed if isinstance(parsed, list) else [parsed]


class DcatApDeProfile(RDFProfile):
    def graph_from_dataset(self, dataset_dict, dataset_ref):
        g = self.g
        g.bind("dcatde", DCATDE)
        found = extras(dataset_dict)
        for contributor in as_list(found.get("contributorID")):
            g.add((dataset_ref, DCATDE.contributorID, URIRef(contributor)))
        for uri in as_list(found.get("politicalGeocodingURI")):
            g.add((dataset_ref, DCATDE.politicalGeocodingURI, URIRef(uri)))
        if found.get("politicalGeocodingLevelURI"):
            g.add((dataset_ref, DCATDE.politicalGeocodingLevelURI,
                   URIRef(found["politicalGeocodingLevelURI"])))
        # dct:identifier is a literal in DCAT-AP.de, even when it holds a URI.
        for identifier in list(g.objects(dataset_ref, DCTERMS.identifier)):
            if isinstance(identifier, URIRef):
                g.remove((dataset_ref, DCTERMS.identifier, identifier))
                g.add((dataset_ref, DCTERMS.identifier, Literal(str(identifier))))
        attribution = found.get("licenseAttributionByText")
        if attribution:
            g.add((dataset_ref, DCATDE.licenseAttributionByText, Literal(attribution)))
        for resource in dataset_dict.get("resources", []):
            distribution = URIRef(resource_uri(resource))
            text = resource.get("licenseAttributionByText") or attribution
            if text:
                g.add((distribution, DCATDE.licenseAttributionByText, Literal(text)))
            # DCAT-AP.de types a byte size as xsd:decimal.
            for size in list(g.objects(distribution, DCAT.byteSize)):
                g.remove((distribution, DCAT.byteSize, size))
                g.add((distribution, DCAT.byteSize, Literal(Decimal(str(size)), datatype=XSD.decimal)))
            # A format literal that is an EU file-type code becomes that code's IRI.
            for fmt in list(g.objects(distribution, DCTERMS["format"])):
                if isinstance(fmt, Literal) and str(fmt).isupper():
                    g.remove((distribution, DCTERMS["format"], fmt))
                    g.add((distribution, DCTERMS["format"], URIRef(FILE_TYPE + str(fmt))))
