//! The pages about the data: where it comes from and under which licence, and the accessibility statement.

use super::*;

pub(super) async fn data_page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let title = lang.t("Daten und Lizenz", "Data and licence");
    let published = match &state.open_data {
        Some(open) => open.datasets().await,
        None => Vec::new(),
    };
    let main = html! {
        h1 { (title) }
        p {
            (lang.t(
                "Alle Werte dieser Seite sind offene Daten. Gezeigt werden nur öffentliche Stationen; \
                 Gerätekennungen und Funkdaten werden nicht veröffentlicht, die Lage der Stationen nur \
                 gerundet.",
                "Every value on this site is open data. Only public stations are shown; device \
                 identifiers and radio data are never published, station positions only rounded."
            ))
        }
        p { (layout::licence(&state, lang)) "." }
        (datasets(lang, &published))
        p {
            (lang.t("Alle Datensätze als DCAT-AP.de-Katalog für Portale: ", "Every dataset as a DCAT-AP.de catalog for portals: "))
            a href="/catalog.ttl" { "Turtle" } ", "
            a href="/catalog.rdf" { "RDF/XML" } ", "
            a href="/catalog.jsonld" { "JSON-LD" } "."
        }
        @if let Some(portal) = &state.http.portal_url {
            p {
                a href=(portal) {
                    (lang.t(
                        "Der Datensatz im Open-Data-Portal (CSV, GeoJSON, Beschreibung)",
                        "The dataset on the open-data portal (CSV, GeoJSON, description)"
                    ))
                }
            }
        }
        h2 { (lang.t("Schnittstelle", "API")) }
        ul {
            li { a href="/api/v1/openapi.json" { "OpenAPI" } }
            li { a href="/api/v1/stations" { "/api/v1/stations" } }
            li { a href="/api/v1/latest" { "/api/v1/latest" } }
            li { "/api/v1/stations/{id}/history?quantity=…&resolution=1h" }
            li {
                "/api/v1/stream ("
                (lang.t("Live-Werte als Server-Sent Events", "live values as Server-Sent Events"))
                ")"
            }
        }
    };
    let frame = Frame::new(title, lang.t("/daten", "/data"));
    page(&query, layout::resident(&state, lang, &frame, main))
}

/// Every dataset a consumer can have: what it is, its licence, period and rhythm, its files
/// with their size, and its page on the portal.
fn datasets(lang: Lang, datasets: &[crate::DatasetSummary]) -> Markup {
    html! {
        @if !datasets.is_empty() {
            h2 id="datasets" { (lang.t("Datensätze", "Datasets")) }
            @for d in datasets {
                section.dataset id=(d.name) aria-labelledby={ "ds-" (d.name) } {
                    h3 id={ "ds-" (d.name) } { (d.title) }
                    @if !d.description.is_empty() { p { (d.description) } }
                    dl {
                        dt { (lang.t("Lizenz", "Licence")) }
                        dd { a href=(d.licence_url) { (d.licence_title) } }
                        @if let Some((from, until)) = &d.period {
                            dt { (lang.t("Zeitraum", "Period")) }
                            dd { (time_text(lang, from)) " – " (time_text(lang, until)) }
                        }
                        dt { (lang.t("Aktualisierung", "Updated")) }
                        dd { (super::open_data::frequency_text(lang, &d.frequency)) }
                        @if let Some(portal) = &d.portal_page {
                            dt { (lang.t("Im Portal", "On the portal")) }
                            dd { a href=(portal) { (portal) } }
                        }
                    }
                    @if !d.files.is_empty() {
                        ul.files {
                            @for (name, size, path) in &d.files {
                                li { a href=(path) download { (name) } " (" (super::open_data::size_text(lang, *size)) ")" }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) async fn accessibility_page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let contact = if state.http.accessibility_contact.is_empty() {
        lang.t(
            "die Stelle, die diese Seite betreibt (siehe Impressum)",
            "the office that runs this site (see the imprint)",
        )
    } else {
        &state.http.accessibility_contact
    };
    let main = match lang {
        Lang::De => html! {
            h1 { "Erklärung zur Barrierefreiheit" }
            p {
                "Diese Seiten sollen barrierefrei zugänglich sein, nach der \
                 Barrierefreie-Informationstechnik-Verordnung (BITV 2.0) und den Web Content \
                 Accessibility Guidelines (WCAG) 2.1, Stufe AA."
            }
            h2 { "Stand der Vereinbarkeit" }
            p {
                "Die Seiten sind weitgehend vereinbar. Jede \
                 Seite wird bei jeder Änderung automatisch mit axe-core auf Verstöße gegen WCAG 2.1 \
                 A und AA geprüft. Alle Inhalte funktionieren ohne JavaScript; jedes Diagramm hat \
                 eine gleichwertige Datentabelle und eine Zusammenfassung in Worten; die Karte hat \
                 eine Liste derselben Stationen; Live-Aktualisierungen lassen sich anhalten. Die \
                 Stationen auf der Karte erreichen Sie mit der Tabulatortaste; die Eingabetaste \
                 zeigt ihre Werte, Escape schließt sie wieder."
            }
            h2 { "Nicht barrierefreie Inhalte" }
            p {
                "Verschieben und Zoomen der Karte ist mit \
                 der Tastatur nur eingeschränkt möglich (Pfeiltasten, Plus und Minus, wenn die \
                 Karte den Fokus hat); dieselben Informationen stehen in der Tabelle."
            }
            h2 { "Feedback und Kontakt" }
            p { "Barrieren melden Sie bitte an " (contact) "." }
            h2 { "Durchsetzungsverfahren" }
            p {
                "Wenn Sie auf Ihre Meldung keine zufriedenstellende \
                 Antwort erhalten, können Sie sich an die Schlichtungsstelle nach dem \
                 Behindertengleichstellungsrecht Ihres Landes wenden."
            }
        },
        Lang::En => html! {
            h1 { "Accessibility statement" }
            p {
                "These pages aim to be accessible under the German Barrierefreie-\
                 Informationstechnik-Verordnung (BITV 2.0) and the Web Content Accessibility \
                 Guidelines (WCAG) 2.1, level AA."
            }
            h2 { "Compliance status" }
            p {
                "The pages are largely compliant. Every page is checked \
                 with axe-core for WCAG 2.1 A and AA violations on every change. All content works \
                 without JavaScript; every chart has an equivalent data table and a text summary; \
                 the map has a list of the same stations; live updates can be paused. The stations on \
                 the map can be reached with the Tab key; Enter shows their values, Escape closes \
                 them again."
            }
            h2 { "Content that is not accessible" }
            p {
                "Panning and zooming the map by keyboard \
                 is limited (arrow keys, plus and minus while the map has the focus); the same \
                 information is in the table."
            }
            h2 { "Feedback and contact" }
            p { "Please report barriers to " (contact) "." }
            h2 { "Enforcement procedure" }
            p {
                "If your report gets no satisfactory answer, you can \
                 turn to the arbitration board under your Land's disability equality law."
            }
        },
    };
    let frame = Frame::new(
        lang.t("Barrierefreiheit", "Accessibility"),
        lang.t("/barrierefreiheit", "/accessibility"),
    );
    page(&query, layout::resident(&state, lang, &frame, main))
}
