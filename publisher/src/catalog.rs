//! A DCAT-AP.de catalog of our own, so that a portal can harvest sensorhub instead of being
//! pushed to: every dataset the folder target published (its `dataset.json`, written with the
//! same metadata a portal gets) with its files as distributions, in Turtle, RDF/XML or JSON-LD.
//!
//! The graph is built with Oxigraph's RDF model (`oxrdf`) and written by its serialisers
//! (`oxrdfio`), never as text by hand.

use std::path::Path;

use oxrdf::vocab::{rdf, xsd};
use oxrdf::{BlankNode, Literal, NamedNode, NamedOrBlankNode, Term, Triple};
use oxrdfio::{JsonLdProfileSet, RdfFormat, RdfSerializer};
use serde_json::Value;

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const DCATDE: &str = "http://dcat-ap.de/def/dcatde/";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
const SPDX: &str = "http://spdx.org/rdf/terms#";

/// The three serialisations served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFormat {
    Turtle,
    RdfXml,
    JsonLd,
}

impl CatalogFormat {
    /// By the file extension of the path asked for: `ttl`, `rdf`, `jsonld`.
    pub fn from_extension(ext: &str) -> Option<CatalogFormat> {
        match ext {
            "ttl" => Some(CatalogFormat::Turtle),
            "rdf" => Some(CatalogFormat::RdfXml),
            "jsonld" => Some(CatalogFormat::JsonLd),
            _ => None,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            CatalogFormat::Turtle => "text/turtle; charset=utf-8",
            CatalogFormat::RdfXml => "application/rdf+xml",
            CatalogFormat::JsonLd => "application/ld+json",
        }
    }
}

/// What the catalog says of itself.
#[derive(Debug, Clone)]
pub struct CatalogInfo {
    /// The dashboard's public address, without a trailing `/`: every IRI is made from it.
    pub base: String,
    pub title: String,
    pub description: String,
    /// Who publishes the catalog (`dct:publisher`).
    pub publisher: String,
    /// DCAT-AP.de 3.0 rather than 2.0, where they differ (`dcat:byteSize` as
    /// `xsd:nonNegativeInteger`, not `xsd:decimal`).
    pub version_3: bool,
}

/// A published dataset: its name and the `dataset.json` the folder target wrote.
#[derive(Debug, Clone)]
pub struct Published {
    pub name: String,
    pub package: Value,
}

impl Published {
    /// An extra of the package, where it has one.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.package["extras"]
            .as_array()?
            .iter()
            .find(|e| e["key"] == key)?["value"]
            .as_str()
            .filter(|v| !v.is_empty())
    }

    pub fn text(&self, key: &str) -> &str {
        self.package[key].as_str().unwrap_or("")
    }

    pub fn resources(&self) -> &[Value] {
        self.package["resources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether `file` is one of the dataset's files (the only ones served).
    pub fn has_file(&self, file: &str) -> bool {
        self.resources().iter().any(|r| r["name"] == file)
    }
}

/// Every dataset under `folder` with a readable `dataset.json`, by name.
pub fn published(folder: &Path) -> Vec<Published> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<Published> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let bytes = std::fs::read(e.path().join("dataset.json")).ok()?;
            let package: Value = serde_json::from_slice(&bytes).ok()?;
            (package["name"] == name.as_str()).then_some(Published { name, package })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// A triple set under construction.
struct Triples(Vec<Triple>);

fn iri(text: &str) -> Option<NamedNode> {
    NamedNode::new(text).ok()
}

fn term(namespace: &str, local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{namespace}{local}"))
}

impl Triples {
    fn add(&mut self, s: &NamedOrBlankNode, ns: &str, p: &str, o: impl Into<Term>) {
        self.0.push(Triple::new(s.clone(), term(ns, p), o));
    }

    fn text(&mut self, s: &NamedOrBlankNode, ns: &str, p: &str, value: &str) {
        if !value.is_empty() {
            self.add(s, ns, p, Literal::new_simple_literal(value));
        }
    }

    fn german(&mut self, s: &NamedOrBlankNode, ns: &str, p: &str, value: &str) {
        if !value.is_empty() {
            let literal = Literal::new_language_tagged_literal_unchecked(value, "de");
            self.add(s, ns, p, literal);
        }
    }

    fn link(&mut self, s: &NamedOrBlankNode, ns: &str, p: &str, value: &str) {
        if let Some(o) = iri(value) {
            self.add(s, ns, p, o);
        }
    }

    /// A date (`2026-11-01`) or date-time, typed as what it is.
    fn date(&mut self, s: &NamedOrBlankNode, ns: &str, p: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        let (text, kind) = if value.len() == 10 {
            (value.to_owned(), xsd::DATE)
        } else {
            let whole = value
                .split('.')
                .next()
                .unwrap_or(value)
                .trim_end_matches('Z');
            (format!("{whole}Z"), xsd::DATE_TIME)
        };
        self.add(s, ns, p, Literal::new_typed_literal(text, kind));
    }

    /// A `foaf:Agent` with a name, as a blank node.
    fn agent(&mut self, name: &str) -> NamedOrBlankNode {
        let agent: NamedOrBlankNode = BlankNode::default().into();
        self.kind(&agent, term(FOAF, "Agent"));
        self.text(&agent, FOAF, "name", name);
        agent
    }

    fn kind(&mut self, s: &NamedOrBlankNode, class: NamedNode) {
        self.0.push(Triple::new(s.clone(), rdf::TYPE, class));
    }
}

/// Whether `url` can be the base of the catalog's IRIs (`publisher.public_url`).
pub fn check_base(url: &str) -> Result<(), String> {
    NamedNode::new(format!("{url}/datasets/x"))
        .map(|_| ())
        .map_err(|e| format!("`{url}` cannot begin an IRI: {e}"))
}

/// The catalog's triples (none when the base is not an IRI's beginning).
pub fn triples(info: &CatalogInfo, datasets: &[Published]) -> Vec<Triple> {
    let mut t = Triples(Vec::new());
    let base = info.base.trim_end_matches('/');
    let Some(catalog) = iri(&format!("{base}/catalog")).map(NamedOrBlankNode::from) else {
        return Vec::new();
    };
    t.kind(&catalog, term(DCAT, "Catalog"));
    t.german(&catalog, DCT, "title", &info.title);
    t.german(&catalog, DCT, "description", &info.description);
    let publisher = t.agent(&info.publisher);
    t.add(&catalog, DCT, "publisher", publisher);
    t.link(&catalog, FOAF, "homepage", &format!("{base}/"));
    // No dct:language: the EU language table it must come from is not among the vocabularies
    // the tests validate with, so it is left out rather than sent unchecked.
    for d in datasets {
        let id = d
            .extra("identifier")
            .filter(|i| i.starts_with("http"))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{base}/datasets/{}", d.name));
        let Some(dataset) = iri(&id).map(NamedOrBlankNode::from) else {
            continue;
        };
        t.add(&catalog, DCAT, "dataset", dataset.clone());
        if d.package["series"] != true {
            dataset_triples(&mut t, info, &dataset, d, &Part::Whole);
            continue;
        }
        // A DatasetSeries (DCAT-AP.de 3.0): the series, and one dataset a year in it.
        dataset_triples(&mut t, info, &dataset, d, &Part::Series);
        let years = d.years();
        for (i, year) in years.iter().enumerate() {
            let Some(member) = iri(&format!("{id}/{year}")).map(NamedOrBlankNode::from) else {
                continue;
            };
            t.add(&catalog, DCAT, "dataset", member.clone());
            let part = Part::Year {
                year: *year,
                newest: i + 1 == years.len(),
                series: dataset.clone(),
            };
            dataset_triples(&mut t, info, &member, d, &part);
        }
    }
    t.0
}

/// What of a published dataset a catalog entry describes.
enum Part {
    /// The dataset with every file (the default form).
    Whole,
    /// The series of a `series = true` dataset: no files of its own.
    Series,
    /// One year of a series: its monthly files, and the newest year the running files too.
    Year {
        year: i32,
        newest: bool,
        series: NamedOrBlankNode,
    },
}

impl Published {
    /// The year of one of its monthly files (`NAME-2026-11.csv`), if it is one.
    fn file_year(&self, file: &str) -> Option<i32> {
        let rest = file.strip_prefix(&format!("{}-", self.name))?;
        let (year, rest) = rest.split_once('-')?;
        let month = rest.split('.').next()?;
        (year.len() == 4 && month.len() == 2 && month.bytes().all(|b| b.is_ascii_digit()))
            .then(|| year.parse().ok())
            .flatten()
    }

    /// The years its monthly files cover, oldest first.
    fn years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = self
            .resources()
            .iter()
            .filter_map(|r| self.file_year(r["name"].as_str()?))
            .collect();
        years.sort_unstable();
        years.dedup();
        years
    }
}

fn dataset_triples(
    t: &mut Triples,
    info: &CatalogInfo,
    dataset: &NamedOrBlankNode,
    d: &Published,
    part: &Part,
) {
    let (base, version_3) = (info.base.trim_end_matches('/'), info.version_3);
    let class = match part {
        Part::Series => "DatasetSeries",
        _ => "Dataset",
    };
    t.kind(dataset, term(DCAT, class));
    if let Part::Series = part {
        // A series is a dataset (DCAT 3 makes it a subclass); said outright, for validators
        // and harvesters that do not infer.
        t.kind(dataset, term(DCAT, "Dataset"));
    }
    match part {
        Part::Year { year, series, .. } => {
            t.german(
                dataset,
                DCT,
                "title",
                &format!("{} {year}", d.text("title")),
            );
            t.add(dataset, DCAT, "inSeries", series.clone());
        }
        _ => t.german(dataset, DCT, "title", d.text("title")),
    }
    t.german(dataset, DCT, "description", d.text("notes"));
    if let Some(i) = d.extra("identifier") {
        match part {
            Part::Year { year, .. } => t.text(dataset, DCT, "identifier", &format!("{i}/{year}")),
            _ => t.text(dataset, DCT, "identifier", i),
        }
    }
    let landing = d.text("url");
    let landing = if landing.is_empty() {
        format!("{base}/daten#{}", d.name)
    } else {
        landing.to_owned()
    };
    t.link(dataset, DCAT, "landingPage", &landing);
    for tag in d.package["tags"].as_array().into_iter().flatten() {
        if let Some(name) = tag["name"].as_str() {
            t.german(dataset, DCAT, "keyword", name);
        }
    }
    if let Some(themes) = d.extra("theme") {
        for theme in serde_json::from_str::<Vec<String>>(themes).unwrap_or_default() {
            t.link(dataset, DCAT, "theme", &theme);
        }
    }
    let publisher = t.agent(d.text("author"));
    t.add(dataset, DCT, "publisher", publisher);
    let contact: NamedOrBlankNode = BlankNode::default().into();
    t.kind(&contact, term(VCARD, "Organization"));
    t.text(&contact, VCARD, "fn", d.text("maintainer"));
    let email = d.text("maintainer_email");
    if !email.is_empty() {
        t.link(&contact, VCARD, "hasEmail", &format!("mailto:{email}"));
    }
    t.add(dataset, DCAT, "contactPoint", contact);
    t.date(dataset, DCT, "issued", d.extra("issued"));
    t.date(dataset, DCT, "modified", d.extra("modified"));
    if let Some(start) = d.extra("temporal_start") {
        let mut end = d.extra("temporal_end").map(str::to_owned);
        let mut start = start.to_owned();
        // A year of a series covers that year of the period.
        if let Part::Year { year, .. } = part {
            let (from, until) = (
                format!("{year}-01-01T00:00:00Z"),
                format!("{}-01-01T00:00:00Z", year + 1),
            );
            if start < from {
                start = from;
            }
            if end.as_ref().is_none_or(|e| *e > until) {
                end = Some(until);
            }
        }
        let period: NamedOrBlankNode = BlankNode::default().into();
        t.kind(&period, term(DCT, "PeriodOfTime"));
        t.date(&period, DCAT, "startDate", Some(&start));
        t.date(&period, DCAT, "endDate", end.as_deref());
        t.add(dataset, DCT, "temporal", period);
    }
    if let Some(f) = d.extra("frequency") {
        t.link(dataset, DCT, "accrualPeriodicity", f);
    }
    if let Some(s) = d.extra("spatial_uri") {
        t.link(dataset, DCT, "spatial", s);
    }
    if let Some(uris) = d.extra("politicalGeocodingURI") {
        for uri in serde_json::from_str::<Vec<String>>(uris).unwrap_or_default() {
            t.link(dataset, DCATDE, "politicalGeocodingURI", &uri);
        }
    }
    if let Some(level) = d.extra("politicalGeocodingLevelURI") {
        t.link(dataset, DCATDE, "politicalGeocodingLevelURI", level);
    }
    if let Some(ids) = d.extra("contributorID") {
        for id in serde_json::from_str::<Vec<String>>(ids).unwrap_or_default() {
            t.link(dataset, DCATDE, "contributorID", &id);
        }
    }
    let attribution = d.extra("licenseAttributionByText");
    if let Some(a) = attribution {
        t.text(dataset, DCATDE, "licenseAttributionByText", a);
    }
    for r in d.resources() {
        let Some(file) = r["name"].as_str() else {
            continue;
        };
        let belongs = match part {
            Part::Whole => true,
            Part::Series => false,
            Part::Year { year, newest, .. } => match d.file_year(file) {
                Some(y) => y == *year,
                None => *newest,
            },
        };
        if !belongs {
            continue;
        }
        let url = format!("{base}/opendata/{}/{file}", d.name);
        let Some(distribution) = iri(&url).map(NamedOrBlankNode::from) else {
            continue;
        };
        t.add(dataset, DCAT, "distribution", distribution.clone());
        t.kind(&distribution, term(DCAT, "Distribution"));
        t.german(&distribution, DCT, "title", file);
        t.german(
            &distribution,
            DCT,
            "description",
            r["description"].as_str().unwrap_or(""),
        );
        t.link(&distribution, DCAT, "accessURL", &url);
        t.link(&distribution, DCAT, "downloadURL", &url);
        let field = |k: &str| r[k].as_str().unwrap_or("");
        t.link(&distribution, DCT, "format", field("format"));
        t.link(&distribution, DCAT, "mediaType", field("mimetype"));
        t.link(&distribution, DCT, "license", field("license"));
        if let Some(a) = r["licenseAttributionByText"].as_str().or(attribution) {
            t.text(&distribution, DCATDE, "licenseAttributionByText", a);
        }
        if let Some(size) = r["size"].as_u64() {
            let kind = if version_3 {
                xsd::NON_NEGATIVE_INTEGER
            } else {
                xsd::DECIMAL
            };
            t.add(
                &distribution,
                DCAT,
                "byteSize",
                Literal::new_typed_literal(size.to_string(), kind),
            );
        }
        if !field("hash").is_empty() {
            let checksum: NamedOrBlankNode = BlankNode::default().into();
            t.kind(&checksum, term(SPDX, "Checksum"));
            t.link(&checksum, SPDX, "algorithm", field("hash_algorithm"));
            t.add(
                &checksum,
                SPDX,
                "checksumValue",
                Literal::new_typed_literal(field("hash"), xsd::HEX_BINARY),
            );
            t.add(&distribution, SPDX, "checksum", checksum);
        }
    }
}

/// The catalog written in `format`.
pub fn serialize(triples: &[Triple], format: CatalogFormat) -> std::io::Result<Vec<u8>> {
    let format = match format {
        CatalogFormat::Turtle => RdfFormat::Turtle,
        CatalogFormat::RdfXml => RdfFormat::RdfXml,
        CatalogFormat::JsonLd => RdfFormat::JsonLd {
            profile: JsonLdProfileSet::empty(),
        },
    };
    let mut serializer = RdfSerializer::from_format(format);
    for (prefix, namespace) in [
        ("dcat", DCAT),
        ("dct", DCT),
        ("dcatde", DCATDE),
        ("foaf", FOAF),
        ("vcard", VCARD),
        ("spdx", SPDX),
    ] {
        serializer = serializer
            .with_prefix(prefix, namespace)
            .map_err(std::io::Error::other)?;
    }
    let mut writer = serializer.for_writer(Vec::new());
    for triple in triples {
        writer.serialize_triple(triple)?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Published {
        Published {
            name: "wasser".into(),
            package: serde_json::json!({
                "name": "wasser", "title": "Wasserstände", "notes": "Pegel", "url": "",
                "author": "Amt", "maintainer": "Bauamt", "maintainer_email": "bau@example.org",
                "tags": [{"name": "Pegel"}],
                "extras": [
                    {"key": "issued", "value": "2026-11-01"},
                    {"key": "temporal_start", "value": "2026-10-01T00:00:00.000Z"},
                    {"key": "identifier", "value": "https://sensoren.example.org/datasets/wasser"}
                ],
                "resources": [{"name": "wasser-latest.csv", "format": "http://publications.europa.eu/resource/authority/file-type/CSV",
                               "mimetype": "https://www.iana.org/assignments/media-types/text/csv",
                               "license": "http://dcat-ap.de/def/licenses/dl-zero-de/2.0",
                               "hash": "ab12", "hash_algorithm": "http://dcat-ap.de/def/hashAlgorithms/sha/256", "size": 12}]
            }),
        }
    }

    #[test]
    fn the_catalog_names_each_dataset_and_file_in_every_format() {
        let info = CatalogInfo {
            base: "https://sensoren.example.org".into(),
            title: "Sensoren".into(),
            description: "Messwerte".into(),
            publisher: "Amt".into(),
            version_3: false,
        };
        let triples = triples(&info, &[sample()]);
        let ttl = String::from_utf8(serialize(&triples, CatalogFormat::Turtle).unwrap()).unwrap();
        assert!(
            ttl.contains("<https://sensoren.example.org/datasets/wasser> a dcat:Dataset"),
            "{ttl}"
        );
        assert!(ttl.contains("<https://sensoren.example.org/opendata/wasser/wasser-latest.csv>"));
        assert!(
            ttl.contains("\"12\"^^<http://www.w3.org/2001/XMLSchema#decimal>")
                || ttl.contains("\"12\"^^xsd:decimal"),
            "{ttl}"
        );
        let xml = String::from_utf8(serialize(&triples, CatalogFormat::RdfXml).unwrap()).unwrap();
        assert!(
            xml.contains("dcat:Catalog") || xml.contains("Catalog"),
            "{xml}"
        );
        let json: Value =
            serde_json::from_slice(&serialize(&triples, CatalogFormat::JsonLd).unwrap()).unwrap();
        assert!(json.to_string().contains("wasser-latest.csv"));
    }

    #[test]
    fn a_series_has_one_dataset_a_year_with_that_years_files() {
        let mut d = sample();
        d.package["series"] = serde_json::json!(true);
        let files = [
            "wasser-2025-12.csv",
            "wasser-2026-01.csv",
            "wasser-2026-02.csv",
            "wasser-latest.csv",
        ];
        d.package["resources"] = serde_json::json!(files.map(|f| serde_json::json!({"name": f})));
        assert_eq!(d.years(), vec![2025, 2026]);
        let info = CatalogInfo {
            base: "https://s.example.org".into(),
            title: "S".into(),
            description: "D".into(),
            publisher: "Amt".into(),
            version_3: false,
        };
        let triples = triples(&info, &[d]);
        let ttl = String::from_utf8(serialize(&triples, CatalogFormat::Turtle).unwrap()).unwrap();
        let series = "<https://sensoren.example.org/datasets/wasser>";
        assert!(
            ttl.contains(&format!("{series} a dcat:DatasetSeries")),
            "{ttl}"
        );
        for year in ["2025", "2026"] {
            assert!(
                ttl.contains(&format!(
                    "<https://sensoren.example.org/datasets/wasser/{year}> a dcat:Dataset"
                )),
                "{ttl}"
            );
        }
        assert!(ttl.contains(&format!("dcat:inSeries {series}")), "{ttl}");
        // The 2025 member holds only December; the running file goes with the newest year;
        // the series itself has no files.
        let files_of = |subject: &str| -> Vec<String> {
            triples
                .iter()
                .filter(|t| {
                    t.subject.to_string() == subject
                        && t.predicate.as_str() == format!("{DCAT}distribution")
                })
                .map(|t| t.object.to_string())
                .collect()
        };
        let y2025 = files_of("<https://sensoren.example.org/datasets/wasser/2025>");
        let y2026 = files_of("<https://sensoren.example.org/datasets/wasser/2026>");
        assert_eq!(y2025.len(), 1, "{y2025:?}");
        assert!(y2025[0].contains("wasser-2025-12.csv"));
        assert_eq!(y2026.len(), 3, "{y2026:?}");
        assert!(y2026.iter().any(|f| f.contains("wasser-latest.csv")));
        assert!(files_of(series).is_empty());
    }

    #[test]
    fn only_a_datasets_own_files_are_known() {
        let d = sample();
        assert!(d.has_file("wasser-latest.csv"));
        assert!(!d.has_file("../../etc/passwd"));
        assert!(!d.has_file("dataset.json"));
    }
}
