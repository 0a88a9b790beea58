// Browser checks of the demo as residents open it (driven by tests/demo.rs, a minute after
// `sensorhub demo` started): the charts span their windows, the gauge reads as a gauge, no
// device health anywhere public, the map has land and a legend, the embeds are framed only
// where allowed, and every resident and embed page passes axe and fits 320 px, in German and
// English.
//
// Then a technician logs in and finds the demo's virtual gateways on the gateways page.
//
// Usage: node demo.mjs BASE_URL PASSWORD   (BASE_URL on 127.0.0.1; localhost serves as another
//        origin; PASSWORD the technician's, which the demo prints)
import { axe, launch, ok, passed } from "./common.mjs";

const [base, password] = process.argv.slice(2);
const gauge = "pegel-03";
const stations = await (await fetch(base + "/api/v1/stations")).json();
const ids = stations.map((s) => s.id);
ok(ids.includes(gauge) && ids.length >= 6, "the demo has its stations (" + ids.join(", ") + ")");

const health = /Batterie|Spannung|Battery|Voltage|battery_voltage|\bRSSI\b|\bSNR\b/;
const pages = [];
for (const lang of ["de", "en"]) {
  pages.push("/?lang=" + lang, "/embed/map?lang=" + lang);
  for (const id of ids) { pages.push("/stations/" + id + "?lang=" + lang, "/embed/stations/" + id + "?lang=" + lang); }
  for (const range of ["7d", "30d"]) { pages.push("/stations/" + gauge + "?range=" + range + "&lang=" + lang); }
}
pages.push("/daten", "/data?lang=en", "/barrierefreiheit", "/accessibility?lang=en");

// What the scripts draw has to be there before a check looks.
async function settled(page, path) {
  if (await page.locator("#map").count()) {
    await page.waitForSelector("#map[data-ready][data-land]");
  }
  if (await page.locator("figure.chart").count()) {
    await page.waitForSelector("figure.chart[data-drawn]");
  }
  // Leaflet fades its layers in; axe measures contrast through the opacity.
  await page.waitForTimeout(300);
  return path;
}

const browser = await launch();
try {
  const errors = [];
  const context = await browser.newContext({ locale: "de-DE", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") { errors.push(m.text()); } });

  // No device health in any public API answer.
  for (const path of ["/api/v1/stations", "/api/v1/stations.geojson", "/api/v1/latest",
    "/api/v1/stations/" + gauge + "/history?quantity=water_level"]) {
    const body = await (await page.request.get(base + path)).text();
    ok(!health.test(body) && !/"(battery|voltage|distance|rssi|snr)/.test(body), "no device health in " + path);
  }

  // The beach entrance's people: whole hours, never a count from 1 to 4 (k = 5).
  const since = new Date(Date.now() - 7 * 86400e3).toISOString();
  const visitors = await (await page.request.get(base + "/api/v1/stations/strand-10/history?quantity=visitor_count&since=" + since)).json();
  const few = visitors.points.filter((p) => p.mean > 0 && p.mean < 5);
  ok(visitors.points.length >= 24 && visitors.resolution === "1h" && few.length === 0,
    visitors.points.length + " hourly visitor counts, none from 1 to 4 (" + JSON.stringify(few.slice(0, 3)) + ")");

  // Every chart's x-axis is its window, within 2 %; the gauge's day has a point every 15 min.
  for (const [range, days] of [["24h", 1], ["7d", 7], ["30d", 30]]) {
    await page.goto(base + "/stations/" + gauge + "?range=" + range);
    await page.waitForSelector("figure.chart[data-drawn]");
    const charts = await page.$$eval("figure.chart", (figs) => figs.map((f) => ({
      table: f.getAttribute("data-table"),
      points: Number(f.getAttribute("data-drawn")),
      window: [Date.parse(f.getAttribute("data-since")) / 1000, Date.parse(f.getAttribute("data-until")) / 1000],
      axis: [Number(f.getAttribute("data-x-min")), Number(f.getAttribute("data-x-max"))],
    })));
    ok(charts.length >= 1, range + ": the gauge has a chart");
    for (const c of charts) {
      const span = c.window[1] - c.window[0];
      ok(Math.abs(span - days * 86400) <= 0.02 * days * 86400
        && Math.abs(c.axis[0] - c.window[0]) <= 0.02 * span && Math.abs(c.axis[1] - c.window[1]) <= 0.02 * span,
        range + " chart " + c.table + " spans its window (axis " + c.axis + ", window " + c.window + ")");
      if (range === "24h") {
        ok(c.points >= 96, "the 24-hour chart of a 15-minute gauge has " + c.points + " points (at least 96)");
      }
    }
  }

  // The gauge reads as a gauge: the level in cm above its datum, a level word, a trend.
  await page.goto(base + "/stations/" + gauge + "?lang=de");
  const current = await page.innerText("#current");
  ok(/Wasserstand\s+\d+ cm über NHN/.test(current), "the gauge shows its water level in cm über NHN: " + current.replace(/\s+/g, " "));
  const level = await page.locator("#current .level").innerText();
  ok(["unauffällig", "erhöht", "Sturmflut"].includes(level), "the gauge's value has a level word (" + level + ")");
  const trend = await page.locator(".trend").first().innerText();
  ok(/Tendenz der letzten Stunden: . (steigend|fallend|gleichbleibend)/.test(trend), "and a trend in words (" + trend + ")");
  await page.goto(base + "/?lang=en");
  const card = await page.locator(".card", { hasText: "Wyk tide gauge" }).innerText();
  ok(/\d+ cm above NHN/.test(card) && /(normal|elevated|storm surge)/.test(card) && /(rising|falling|steady)/.test(card),
    "the overview's card of the gauge has value, level and trend: " + card.replace(/\s+/g, " "));

  // The map: land from Natural Earth, markers labelled with the chosen quantity, a legend.
  await page.goto(base + "/?lang=de");
  await settled(page, "/");
  ok(Number(await page.getAttribute("#map", "data-land")) >= 2, "the map has a land layer (Föhr and Amrum at least)");
  ok(await page.locator("#map path.land").count() >= 1, "the land is drawn");
  ok((await page.inputValue("#map-quantity")) === "water_level", "the map shows the water level first");
  const labels = await page.locator(".marker-label").allInnerTexts();
  ok(labels.length === 2 && labels.every((l) => /^\d+ cm/.test(l)), "the gauges are labelled with their level: " + labels.join(" | "));
  let legend = await page.innerText(".map-legend");
  ok(/Wasserstand \(cm über NHN\)/.test(legend) && /unauffällig/.test(legend) && /Sturmflut/.test(legend), "the legend explains the colours: " + legend.replace(/\s+/g, " "));
  await page.selectOption("#map-quantity", "air_temperature");
  legend = await page.innerText(".map-legend");
  const temperatures = await page.locator(".marker-label").allInnerTexts();
  ok(temperatures.length === 4 && temperatures.every((l) => /°C$/.test(l)) && /Lufttemperatur \(°C\)/.test(legend) && /–/.test(legend),
    "another quantity relabels the markers and the legend: " + temperatures.join(" | ") + " / " + legend.replace(/\s+/g, " "));

  // The embeds: framed by a page of an allowed origin ('self' in the demo); refused by the
  // browser, because of their frame-ancestors header, in a page of any other origin (here a
  // page without a policy of its own, so only the embed's header can refuse it).
  for (const allowed of [true, false]) {
    if (allowed) {
      await page.goto(base + "/daten");
    } else {
      await page.goto("about:blank");
    }
    await page.evaluate((src) => {
      const frame = document.createElement("iframe");
      frame.src = src;
      frame.title = "embed";
      document.body.appendChild(frame);
    }, base + "/embed/map");
    await page.waitForTimeout(1500);
    // A refused frame shows the browser's own error page instead.
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const shown = frame ? await frame.locator("h1", { hasText: "Messstationen" }).count().catch(() => 0) : 0;
    ok(allowed ? shown === 1 : shown === 0,
      (allowed ? "the map embed loads in a frame of its own origin" : "and is refused in a frame of another origin"));
  }
  const refusals = errors.splice(0).filter((e) => !/frame-ancestors/.test(e));
  ok(refusals.length === 0, "the refusal was the embed's frame-ancestors (" + refusals.join("; ") + ")");

  // Every page in both languages: no device health, axe clean, and no sideways scrolling at
  // 320 px (WCAG 1.4.10 Reflow).
  for (const path of pages) {
    await page.goto(base + path);
    await settled(page, path);
    ok(!health.test(await page.innerText("body")), "no device health on " + path);
    await axe(page, path);
  }
  const phone = await browser.newContext({ locale: "de-DE", viewport: { width: 320, height: 640 } });
  const small = await phone.newPage();
  for (const path of pages) {
    await small.goto(base + path);
    await settled(small, path);
    const width = await small.evaluate(() => document.documentElement.scrollWidth);
    ok(width <= 320, path + " fits a 320 px wide screen (" + width + " px)");
  }
  await phone.close();
  // The technician's side: the three virtual gateways, each heard recently and connected, and
  // a gateway's page with its charts drawn.
  const admin = await browser.newContext({ locale: "de-DE" });
  const tech = await admin.newPage();
  await tech.goto(base + "/admin/login");
  await tech.fill("#user", "technik");
  await tech.fill("#password", password);
  await tech.click("button[type=submit]");
  await tech.waitForSelector("#device-health");
  await tech.click('a[href="/admin/gateways"]');
  await tech.waitForSelector("#gateways");
  const listed = await tech.locator("#gateways tbody tr").allInnerTexts();
  const lastSeen = /\d\d\.\d\d\.\d{4}, \d\d:\d\d (MEZ|MESZ)/;
  ok(["7276ff0039030a01", "7276ff0039030a02", "7276ff0039030a03"].every((id) => listed.some((row) => row.includes(id) && lastSeen.test(row) && row.includes("verbunden"))),
    "the gateways page lists the demo's three gateways, last seen and connected: " + listed.map((r) => r.replace(/\s+/g, " ")).join(" | "));
  await axe(tech, "/admin/gateways (demo)");
  await tech.click('#gateways a[href="/admin/gateways/7276ff0039030a01"]');
  await tech.waitForSelector("figure.chart[data-drawn]");
  ok((await tech.locator("#heard-devices tbody tr").count()) >= 1, "a gateway's page lists the devices it heard");
  await admin.close();
  ok(errors.length === 0, "no script errors (" + errors.join("; ") + ")");
  console.log("all " + passed() + " checks passed");
} finally {
  await browser.close();
}
