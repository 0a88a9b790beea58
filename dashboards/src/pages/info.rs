//! The pages about the data: where it comes from and under which licence, and the accessibility statement.

use super::*;

pub(super) async fn data_page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let mut body = format!(
        "<h1>{}</h1><p>{}</p><p>{}.</p>",
        lang.t("Daten und Lizenz", "Data and licence"),
        lang.t(
            "Alle Werte dieser Seite sind offene Daten. Gezeigt werden nur öffentliche Stationen; \
             Gerätekennungen und Funkdaten werden nicht veröffentlicht, die Lage der Stationen nur \
             gerundet.",
            "Every value on this site is open data. Only public stations are shown; device \
             identifiers and radio data are never published, station positions only rounded."
        ),
        licence_text(&state, lang)
    );
    if let Some(portal) = &state.http.portal_url {
        let _ = write!(
            body,
            "<p><a href=\"{}\">{}</a></p>",
            escape(portal),
            lang.t(
                "Der Datensatz im Open-Data-Portal (CSV, GeoJSON, Beschreibung)",
                "The dataset on the open-data portal (CSV, GeoJSON, description)"
            )
        );
    }
    let _ = write!(
        body,
        "<h2>{}</h2><ul><li><a href=\"/api/v1/openapi.json\">OpenAPI</a></li>\
         <li><a href=\"/api/v1/stations\">/api/v1/stations</a></li>\
         <li><a href=\"/api/v1/latest\">/api/v1/latest</a></li>\
         <li>/api/v1/stations/{{id}}/history?quantity=…&amp;resolution=1h</li>\
         <li>/api/v1/stream ({})</li></ul>",
        lang.t("Schnittstelle", "API"),
        lang.t(
            "Live-Werte als Server-Sent Events",
            "live values as Server-Sent Events"
        ),
    );
    let path = lang.t("/daten", "/data");
    page(
        &query,
        layout(
            &state,
            lang,
            lang.t("Daten und Lizenz", "Data and licence"),
            path,
            &body,
            "",
            &[],
        ),
    )
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
        .to_owned()
    } else {
        escape(&state.http.accessibility_contact)
    };
    let body = match lang {
        Lang::De => format!(
            "<h1>Erklärung zur Barrierefreiheit</h1>\
             <p>Diese Seiten sollen barrierefrei zugänglich sein, nach der \
             Barrierefreie-Informationstechnik-Verordnung (BITV 2.0) und den Web Content \
             Accessibility Guidelines (WCAG) 2.1, Stufe AA.</p>\
             <h2>Stand der Vereinbarkeit</h2><p>Die Seiten sind weitgehend vereinbar. Jede \
             Seite wird bei jeder Änderung automatisch mit axe-core auf Verstöße gegen WCAG 2.1 \
             A und AA geprüft. Alle Inhalte funktionieren ohne JavaScript; jedes Diagramm hat \
             eine gleichwertige Datentabelle und eine Zusammenfassung in Worten; die Karte hat \
             eine Liste derselben Stationen; Live-Aktualisierungen lassen sich anhalten. Die \
             Stationen auf der Karte erreichen Sie mit der Tabulatortaste; die Eingabetaste \
             zeigt ihre Werte, Escape schließt sie wieder.</p>\
             <h2>Nicht barrierefreie Inhalte</h2><p>Verschieben und Zoomen der Karte ist mit \
             der Tastatur nur eingeschränkt möglich (Pfeiltasten, Plus und Minus, wenn die \
             Karte den Fokus hat); dieselben Informationen stehen in der Tabelle.</p>\
             <h2>Feedback und Kontakt</h2><p>Barrieren melden Sie bitte an {contact}.</p>\
             <h2>Durchsetzungsverfahren</h2><p>Wenn Sie auf Ihre Meldung keine zufriedenstellende \
             Antwort erhalten, können Sie sich an die Schlichtungsstelle nach dem \
             Behindertengleichstellungsrecht Ihres Landes wenden.</p>"
        ),
        Lang::En => format!(
            "<h1>Accessibility statement</h1>\
             <p>These pages aim to be accessible under the German Barrierefreie-\
             Informationstechnik-Verordnung (BITV 2.0) and the Web Content Accessibility \
             Guidelines (WCAG) 2.1, level AA.</p>\
             <h2>Compliance status</h2><p>The pages are largely compliant. Every page is checked \
             with axe-core for WCAG 2.1 A and AA violations on every change. All content works \
             without JavaScript; every chart has an equivalent data table and a text summary; \
             the map has a list of the same stations; live updates can be paused. The stations on \
             the map can be reached with the Tab key; Enter shows their values, Escape closes \
             them again.</p>\
             <h2>Content that is not accessible</h2><p>Panning and zooming the map by keyboard \
             is limited (arrow keys, plus and minus while the map has the focus); the same \
             information is in the table.</p>\
             <h2>Feedback and contact</h2><p>Please report barriers to {contact}.</p>\
             <h2>Enforcement procedure</h2><p>If your report gets no satisfactory answer, you can \
             turn to the arbitration board under your Land's disability equality law.</p>"
        ),
    };
    let path = lang.t("/barrierefreiheit", "/accessibility");
    page(
        &query,
        layout(
            &state,
            lang,
            lang.t("Barrierefreiheit", "Accessibility"),
            path,
            &body,
            "",
            &[],
        ),
    )
}
