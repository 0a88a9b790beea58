"""Validates DCAT metadata against GovData's DCAT-AP.de SHACL shapes with pyshacl.

Usage: validate.py DATA_FILE {v2.0|v3.0} [FORMAT]
Loads every shape file of shapes/VERSION and, as GovData's validator does, merges the
vocabularies of vocab/ into the data graph before validating. Prints one JSON object:
{"violations": N, "warnings": N, "results": [{"severity", "focus", "path", "message"}, ...]}.
"""
import json
import pathlib
import sys

import pyshacl
import rdflib

HERE = pathlib.Path(__file__).resolve().parent


SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type"


def file_types(graph, path):
    """The EU file-type table (its XML authority table, not RDF) as the SKOS concepts the
    Publications Office publishes for it."""
    import xml.etree.ElementTree as ET

    scheme = rdflib.URIRef(FILE_TYPE)
    graph.add((scheme, rdflib.RDF.type, SKOS.ConceptScheme))
    for record in ET.parse(path).getroot().iter("record"):
        code = record.findtext("authority-code")
        if not code:
            continue
        concept = rdflib.URIRef(f"{FILE_TYPE}/{code}")
        graph.add((concept, rdflib.RDF.type, SKOS.Concept))
        graph.add((concept, rdflib.RDF.type, DCT.MediaTypeOrExtent))
        graph.add((concept, SKOS.inScheme, scheme))
        label = record.findtext("label/lg.version[@lg='eng']")
        if label:
            graph.add((concept, SKOS.prefLabel, rdflib.Literal(label, lang="en")))


GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/"
# DCAT-AP.de's political geocoding levels (spec 2.0, #kv-political-geocoding-level), reconstructed:
# the published list could not be had offline.
LEVELS = ("international", "european", "federal", "state", "administrativeDistrict", "municipality")


def political_geocoding(graph, path):
    """The keys of the Schleswig-Holstein portal's list (state, districts, municipalities) as
    concepts of their DCAT-AP.de key vocabularies, and the geocoding levels."""
    for line in path.read_text(encoding="utf-8").splitlines():
        uri = line.split("\t", 1)[0]
        if uri.startswith(GEOCODING):
            scheme = uri.rsplit("/", 1)[0]
            graph.add((rdflib.URIRef(uri), rdflib.RDF.type, SKOS.Concept))
            graph.add((rdflib.URIRef(uri), SKOS.inScheme, rdflib.URIRef(scheme)))
    for level in LEVELS:
        concept = rdflib.URIRef(f"{GEOCODING}Level/{level}")
        graph.add((concept, rdflib.RDF.type, SKOS.Concept))
        graph.add((concept, SKOS.inScheme, rdflib.URIRef(f"{GEOCODING}Level")))


def load(graph, path):
    if path.name == "eu-file-type.xml":
        file_types(graph, path)
        return
    suffix = path.suffix.lower()
    fmt = {".ttl": "turtle", ".rdf": "xml", ".jsonld": "json-ld"}.get(suffix)
    if fmt:
        graph.parse(path, format=fmt)


def main():
    data_file, version = sys.argv[1], sys.argv[2]
    data_format = sys.argv[3] if len(sys.argv) > 3 else "turtle"
    shapes = rdflib.Graph()
    for path in sorted((HERE / "shapes" / version).glob("*.ttl")):
        load(shapes, path)
    data = rdflib.Graph()
    data.parse(data_file, format=data_format)
    for path in sorted((HERE / "vocab").iterdir()):
        load(data, path)
    political_geocoding(data, HERE / "sh-portal" / "spatial_mapping.tsv")
    _, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
    )
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    results = []
    for result in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        severity = str(report.value(result, sh.resultSeverity)).rsplit("#", 1)[-1]
        results.append({
            "severity": severity,
            "focus": str(report.value(result, sh.focusNode)),
            "path": str(report.value(result, sh.resultPath)),
            "message": str(report.value(result, sh.resultMessage)),
        })
    results.sort(key=lambda r: (r["severity"], r["path"], r["focus"]))
    print(json.dumps({
        "violations": sum(r["severity"] == "Violation" for r in results),
        "warnings": sum(r["severity"] == "Warning" for r in results),
        "results": results,
    }, ensure_ascii=False, indent=1))


main()
